"""Writes of credentials: create, update, delete, with per-type validation (SPEC §4).

Services receive the *inner* data object of a type (``{"username": ..., "password": ...}``
for ``basic-auth``) and store it, encrypted, in ``Credential.data``. Field paths
in errors are the API's (``data.basicAuth.password``). Error messages never
contain submitted values: any of them may be a secret.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any, Final, cast

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from core.db import is_protected
from core.errors import FieldError, PatchbayError
from core.validation import (
    Problems,
    clean_base64,
    clean_bool,
    clean_datetime,
    clean_query_string,
    clean_scopes,
    clean_text,
    clean_url,
    join,
)
from credentials.models import Credential, CredentialType
from credentials.selectors import credential_get
from credentials.signals import credential_uses
from credentials.types import (
    CREDENTIAL_TYPES,
    DEFAULT_MAX_KEY_LENGTH,
    DEFAULT_MAX_KEYS,
    DEFAULT_MAX_VALUE_LENGTH,
    EXCHANGED_TYPES,
    CredentialTypeSpec,
    FieldSpec,
    Kind,
    resolve_type,
)
from organisations.models import Organisation

logger = logging.getLogger("patchbay.credentials")

NAME_MAX = 200
_KEY_RE = re.compile(rf"^[^\x00-\x1f\x7f]{{1,{DEFAULT_MAX_KEY_LENGTH}}}$")


class _Unset:
    """Marks an argument the caller did not give (distinct from None, which clears)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


# --- type and field validation -------------------------------------------------------


def credential_type_resolve(type_name: object, *, path: str = "type") -> str:
    """The canonical type for an API ``type`` (seed-003 aliases accepted).

    ``oauth2-code`` and ``oauth1`` are input-only types that must be exchanged
    with the provider; the credentials API refuses them with ``use_oauth_flow``.
    """
    if not isinstance(type_name, str) or not type_name:
        raise PatchbayError(
            "invalid_request", "type is required.", fields=[FieldError(path, "Required.")]
        )
    if type_name in EXCHANGED_TYPES:
        raise PatchbayError(
            "use_oauth_flow", EXCHANGED_TYPES[type_name], fields=[FieldError(path, "Exchanged.")]
        )
    resolved = resolve_type(type_name)
    if resolved is None:
        allowed = ", ".join(CREDENTIAL_TYPES)
        raise PatchbayError(
            "invalid_request",
            f"type must be one of {allowed}.",
            fields=[FieldError(path, f"Must be one of {allowed}.")],
        )
    return resolved


def _clean_field(spec: FieldSpec, value: Any, path: str, problems: Problems) -> Any:
    if spec.kind is Kind.TEXT:
        return clean_text(value, path, problems, max_length=spec.max_length, required=spec.required)
    if spec.kind is Kind.PEM:
        return clean_text(
            value,
            path,
            problems,
            max_length=spec.max_length,
            required=spec.required,
            multiline=True,
        )
    if spec.kind is Kind.BASE64:
        return clean_base64(
            value, path, problems, max_length=spec.max_length, required=spec.required
        )
    if spec.kind is Kind.BOOL:
        return clean_bool(value, path, problems)
    if spec.kind is Kind.SCOPES:
        return clean_scopes(value, path, problems)
    if spec.kind is Kind.DATETIME:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.isoformat()  # internal callers (the OAuth flow) pass datetimes
        parsed = clean_datetime(value, path, problems)
        return None if parsed is None else parsed.isoformat().replace("+00:00", "Z")
    if spec.kind is Kind.URL:
        return clean_url(value, path, problems, required=spec.required)
    if spec.kind is Kind.QUERY:
        return clean_query_string(value, path, problems, max_bytes=spec.max_length)
    if spec.kind is Kind.ID:
        return clean_text(value, path, problems, max_length=spec.max_length)
    if spec.kind is Kind.STRING_MAP:
        return _clean_string_map(value, path, problems, max_length=spec.max_length)
    raise AssertionError(f"unhandled kind {spec.kind}")  # pragma: no cover


def _clean_string_map(
    value: Any, path: str, problems: Problems, *, max_length: int
) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 50:
        problems.add(path, "Must be an object of at most 50 string values.")
        return None
    out: dict[str, str] = {}
    for key, item in value.items():
        item_path = join(path, key)
        if not _KEY_RE.match(key):
            problems.add(path, "Keys must be 1-200 characters without control characters.")
            continue
        text = clean_text(item, item_path, problems, max_length=max_length)
        if text is not None:
            out[key] = text
    return out


def _clean_typed_data(
    spec: CredentialTypeSpec,
    data: Any,
    path: str,
    problems: Problems,
    *,
    stored: dict[str, Any] | None,
    partial: bool,
) -> dict[str, Any]:
    """Validate typed data. With ``stored`` (an update), omitted secret fields keep their
    stored value, and with ``partial`` so do omitted non-secret ones; ``null`` clears."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add(path, "Must be a JSON object.")
        return {}
    for key in data:
        if key not in spec.field_map:
            problems.add(join(path, key), "Unknown field.")
    out: dict[str, Any] = {}
    for field in spec.fields:
        field_path = join(path, field.name)
        keep = field.secret or partial
        if keep and stored is not None and field.name not in data and field.name in stored:
            out[field.name] = stored[field.name]
            continue
        value = data.get(field.name)
        if value is None:
            if field.required:
                problems.add(field_path, "This field is required.")
            continue
        cleaned = _clean_field(field, value, field_path, problems)
        if cleaned is not None:
            out[field.name] = cleaned
    return out


def _clean_default_data(
    data: Any,
    path: str,
    problems: Problems,
    *,
    stored: dict[str, Any] | None,
    stored_redact: list[str],
    partial: bool,
) -> dict[str, Any]:
    """``default``: keys to base64 values. On update, omitted redacted keys keep their value
    (the client cannot see them), and with ``partial`` so do the others; ``null`` removes."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add(path, "Must be an object of keys to base64 values.")
        return {}
    out: dict[str, Any] = {}
    if stored is not None:
        kept = stored.keys() if partial else set(stored_redact) & stored.keys()
        out.update({k: stored[k] for k in kept})
    for key, value in data.items():
        if not isinstance(key, str) or not _KEY_RE.match(key):
            problems.add(path, "Keys must be 1-200 characters without control characters.")
            continue
        if value is None:
            out.pop(key, None)
            continue
        cleaned = clean_base64(
            value, join(path, key), problems, max_length=DEFAULT_MAX_VALUE_LENGTH
        )
        if cleaned is not None:
            out[key] = cleaned
    if len(out) > DEFAULT_MAX_KEYS:
        problems.add(path, f"Must have at most {DEFAULT_MAX_KEYS} keys.")
    return out


def _clean_redact_fields(value: Any, problems: Problems) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > DEFAULT_MAX_KEYS:
        problems.add("redactFields", f"Must be a list of at most {DEFAULT_MAX_KEYS} keys.")
        return None
    out: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not _KEY_RE.match(item):
            problems.add(f"redactFields[{index}]", "Must be a key of data.")
            continue
        out.append(item)
    return list(dict.fromkeys(out))


def _clean_name(name: Any, problems: Problems) -> str:
    text = clean_text(name, "name", problems, max_length=NAME_MAX)
    return (text or "").strip()


def _check_expiry(expires_at: datetime | None, problems: Problems) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        problems.add("expiresAt", "Must be in the future.")


def _check_references(
    *, organisation: Organisation, type_name: str, data: dict[str, Any], path: str
) -> None:
    """Ids inside data must name objects of the same organisation (else 404, SPEC §3)."""
    if type_name == CredentialType.OAUTH2_CLIENT and data.get("mTLSCredentialId"):
        try:
            credential_get(
                organisation=organisation,
                credential_id=data["mTLSCredentialId"],
                type=CredentialType.CERTIFICATE,
            )
        except PatchbayError as exc:
            exc.fields = [FieldError(join(path, "mTLSCredentialId"), "No such credential.")]
            raise


def credential_data_clean(
    *,
    organisation: Organisation,
    type: str,
    data: Any,
    redact_fields: list[str] | None = None,
    stored: dict[str, Any] | None = None,
    stored_redact: list[str] | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """Validate the inner ``data`` object of ``type``; raise a 400 naming every bad field."""
    spec = CREDENTIAL_TYPES[type]
    path = f"data.{spec.data_key}"
    problems = Problems()
    if spec.free_form:
        cleaned = _clean_default_data(
            data, path, problems, stored=stored, stored_redact=stored_redact or [], partial=partial
        )
    else:
        cleaned = _clean_typed_data(spec, data, path, problems, stored=stored, partial=partial)
    problems.raise_if_any()
    _check_references(organisation=organisation, type_name=type, data=cleaned, path=path)
    return cleaned


# --- services ----------------------------------------------------------------------------


def credential_create(
    *,
    organisation: Organisation,
    name: str,
    type: str,
    data: Any,
    expires_at: datetime | None = None,
    redact_fields: list[str] | None = None,
) -> Credential:
    """Create a credential of ``type`` (aliases accepted) holding the inner ``data`` object.

    ``redact_fields`` only applies to ``default`` credentials (typed ones have
    their own secret fields); it is ignored for other types, as seed 003 says.
    """
    type_name = credential_type_resolve(type)
    spec = CREDENTIAL_TYPES[type_name]
    problems = Problems()
    clean_name = _clean_name(name, problems)
    redact = _clean_redact_fields(redact_fields, problems) if spec.free_form else None
    _check_expiry(expires_at, problems)
    problems.raise_if_any()
    cleaned = credential_data_clean(organisation=organisation, type=type_name, data=data)
    credential = Credential.objects.create(
        organisation=organisation,
        name=clean_name,
        type=type_name,
        data=cast(Any, cleaned),  # an encrypted JSON value; the stubs see a TextField
        # The data passed validation for its type; verification against the
        # provider (SPEC §9) or a refused refresh may later set errors.
        errors=[],
        expires_at=expires_at,
        redact_fields=redact or [],
    )
    logger.info(
        "credential created id=%s type=%s organisation=%s",
        credential.pk,
        type_name,
        organisation.pk,
    )
    return credential


def oauth2_client_credential_create(
    *,
    organisation: Organisation,
    name: str,
    client_id: str,
    client_secret: str,
    token_url: str = "",
    scopes: list[str] | None = None,
) -> Credential:
    """The ``oauth2-client`` credential holding a client id and secret (e.g. for a grant)."""
    data: dict[str, Any] = {"clientId": client_id, "clientSecret": client_secret}
    if token_url:
        data["tokenUrl"] = token_url
    if scopes:
        data["scopes"] = list(scopes)
    return credential_create(
        organisation=organisation, name=name, type=CredentialType.OAUTH2_CLIENT, data=data
    )


def credential_update(
    *,
    credential: Credential,
    name: str | _Unset = UNSET,
    type: str | _Unset = UNSET,
    data: Any = UNSET,
    expires_at: datetime | _Unset | None = UNSET,
    redact_fields: list[str] | _Unset | None = UNSET,
    partial: bool = True,
) -> Credential:
    """Update a credential; arguments left ``UNSET`` keep their value.

    * ``type`` cannot change (400 ``type_immutable``): delete and create instead.
    * ``data``: secret fields left out keep their stored value, so a client can
      send back what it read. With ``partial`` (PATCH) every field left out is
      kept; without it (PUT) non-secret fields left out are cleared. ``null``
      clears an optional field.
    * ``redactFields`` of a ``default`` credential may grow freely; a key can
      only leave it when the same request gives that key a new value (or
      removes it), otherwise removing it would reveal a secret: 400
      ``redaction_locked``.
    """
    if not isinstance(type, _Unset) and credential_type_resolve(type) != credential.type:
        raise PatchbayError(
            "type_immutable",
            "A credential's type cannot change; create a new credential instead.",
            fields=[FieldError("type", "Cannot change.")],
        )
    spec = CREDENTIAL_TYPES.get(credential.type)
    if spec is None:  # a type this version does not know: refuse rather than guess
        raise PatchbayError("invalid_request", "This credential's type cannot be updated.")
    problems = Problems()
    if not isinstance(name, _Unset):
        credential.name = _clean_name(name, problems)
    if not isinstance(expires_at, _Unset):
        _check_expiry(expires_at, problems)
        credential.expires_at = expires_at
    old_redact = list(credential.redact_fields or [])
    new_redact = old_redact
    if spec.free_form and not isinstance(redact_fields, _Unset):
        new_redact = _clean_redact_fields(redact_fields, problems) or []
    problems.raise_if_any()

    with transaction.atomic():
        # Lock the row: a concurrent token refresh must not be overwritten by stale data.
        locked = Credential.objects.select_for_update().get(pk=credential.pk)
        stored = locked.data if isinstance(locked.data, dict) else {}
        if not isinstance(data, _Unset):
            cleaned = credential_data_clean(
                organisation=credential.organisation,
                type=credential.type,
                data=data,
                stored=stored,
                stored_redact=old_redact,
                partial=partial,
            )
        else:
            cleaned = stored
        if spec.free_form:
            given = data.keys() if isinstance(data, dict) else set()
            unlocked = [
                key
                for key in old_redact
                if key not in new_redact and key in cleaned and key not in given
            ]
            if unlocked:
                raise PatchbayError(
                    "redaction_locked",
                    "A key can only leave redactFields when the same request replaces its value.",
                    fields=[FieldError("redactFields", "Would reveal a redacted value.")],
                )
        credential.data = cleaned
        credential.redact_fields = new_redact
        credential.errors = [] if not isinstance(data, _Unset) else credential.errors
        credential.save()
    logger.info("credential updated id=%s type=%s", credential.pk, credential.type)
    return credential


def credential_references(*, credential: Credential) -> list[str]:
    """What uses ``credential``: connections and auth scheme configs (by description).

    Both are in apps above this one: a connection links it through a ``PROTECT`` foreign
    key (the only one that points at credentials), and an auth scheme config names it by
    id in its settings, which connectors answers to :data:`credential_uses` for.
    """
    uses = ["a connection"] if is_protected(credential) else []
    for _receiver, use in credential_uses.send(sender=Credential, credential=credential):
        if use:
            uses.append(str(use))
    return uses


def credential_delete(*, credential: Credential) -> None:
    """Delete a credential.

    A credential still used by a connection or named by an auth scheme config
    (grant client, mTLS certificate, OAuth 1.0a) is not deleted: 409
    ``credential_in_use``. Deleting it would silently break those connections;
    delete the connection or change the config first. Pending authorisation
    requests that name it as their client credential go with it (their flow
    could not finish anyway).
    """
    with transaction.atomic():
        uses = credential_references(credential=credential)
        if uses:
            raise _in_use(uses)
        credential_id = credential.pk
        try:
            credential.delete()
        except ProtectedError as exc:  # a connection linked it since
            raise _in_use(["a connection"]) from exc
    logger.info("credential deleted id=%s", credential_id)


def _in_use(uses: list[str]) -> PatchbayError:
    return PatchbayError(
        "credential_in_use",
        f"The credential is used by {' and '.join(uses)}; remove those uses first.",
        status=409,
    )
