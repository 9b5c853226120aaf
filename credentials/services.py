"""Writes of credentials: create, update, delete (SPEC §4).

Services receive typed values: the inner ``data`` object of a type as a
:class:`credentials.inputs.CredentialData` (callers other than the API may pass the
plain inner object, ``{"username": ..., "password": ...}`` for ``basic-auth``, which is
parsed by the same declarations) and store it, encrypted, in ``Credential.data``. What
needs the database stays here: merging with the row as locked, the ids inside data,
what still uses a credential. Error messages never contain submitted values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, cast

from django.db import transaction
from django.db.models import ProtectedError

from core.db import is_protected
from core.errors import FieldError, PatchbayError
from core.validation import join
from credentials.inputs import CredentialData, credential_data_parse, credential_type_resolve
from credentials.models import Credential, CredentialType
from credentials.selectors import credential_get
from credentials.signals import credential_exchange, credential_uses
from credentials.types import CREDENTIAL_TYPES, EXCHANGED_TYPES
from organisations.models import Organisation

logger = logging.getLogger("patchbay.credentials")

__all__ = ["UNSET", "credential_type_resolve"]  # the latter re-exported for callers


class _Unset:
    """Marks an argument the caller did not give (distinct from None, which clears)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()

Data = CredentialData | Mapping[str, Any] | None


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
    data: Data,
    stored: dict[str, Any] | None = None,
    stored_redact: list[str] | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """What to store for ``data`` of ``type`` over ``stored`` (see
    :meth:`CredentialData.merged`), its ids checked; a 400 names every bad field."""
    parsed = credential_data_parse(type=type, data=data, update=stored is not None)
    cleaned = parsed.merged(stored=stored, stored_redact=stored_redact, partial=partial)
    _check_references(organisation=organisation, type_name=type, data=cleaned, path=parsed.path)
    return cleaned


# --- services ----------------------------------------------------------------------------


def credential_create(
    *,
    organisation: Organisation,
    name: str,
    type: str,
    data: Data,
    expires_at: datetime | None = None,
    redact_fields: list[str] | None = None,
) -> Credential:
    """Create a credential of ``type`` (aliases accepted) holding the inner ``data`` object.

    ``redact_fields`` only applies to ``default`` credentials (typed ones have
    their own secret fields); it is ignored for other types, as seed 003 says.
    """
    type_name = credential_type_resolve(type)
    spec = CREDENTIAL_TYPES[type_name]
    cleaned = credential_data_clean(organisation=organisation, type=type_name, data=data)
    credential = Credential.objects.create(
        organisation=organisation,
        name=name.strip(),
        type=type_name,
        data=cast(Any, cleaned),  # an encrypted JSON value; the stubs see a TextField
        # The data passed validation for its type; verification against the
        # provider (SPEC §9) or a refused refresh may later set errors.
        errors=[],
        expires_at=expires_at,
        redact_fields=list(redact_fields or []) if spec.free_form else [],
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
    data: Data | _Unset = UNSET,
    expires_at: datetime | _Unset | None = UNSET,
    redact_fields: list[str] | _Unset | None = UNSET,
    partial: bool = True,
) -> Credential:
    """Update a credential; arguments left ``UNSET`` keep their value. (Its type cannot
    change: the API refuses that with ``type_immutable``.)

    * ``data``: secret fields left out keep their stored value, so a client can
      send back what it read. With ``partial`` (PATCH) every field left out is
      kept; without it (PUT) non-secret fields left out are cleared. ``null``
      clears an optional field.
    * ``redactFields`` of a ``default`` credential may grow freely; a key can
      only leave it when the same request gives that key a new value (or
      removes it), otherwise removing it would reveal a secret: 400
      ``redaction_locked``.
    """
    spec = CREDENTIAL_TYPES.get(credential.type)
    if spec is None:  # a type this version does not know: refuse rather than guess
        raise PatchbayError("invalid_request", "This credential's type cannot be updated.")
    old_redact = list(credential.redact_fields or [])
    new_redact = old_redact
    if spec.free_form and not isinstance(redact_fields, _Unset):
        new_redact = list(redact_fields or [])

    with transaction.atomic():
        # Lock the row: a concurrent token refresh must not be overwritten by stale data.
        locked = Credential.objects.select_for_update().get(pk=credential.pk)
        stored = locked.data if isinstance(locked.data, dict) else {}
        parsed = None
        cleaned = stored
        if not isinstance(data, _Unset):
            parsed = credential_data_parse(
                type=credential.type, data=data, update=True, stored=stored, partial=partial
            )
            cleaned = credential_data_clean(
                organisation=credential.organisation,
                type=credential.type,
                data=parsed,
                stored=stored,
                stored_redact=old_redact,
                partial=partial,
            )
        if spec.free_form:
            given = parsed.given if parsed is not None else frozenset()
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
        if not isinstance(name, _Unset):
            credential.name = name.strip()
        if not isinstance(expires_at, _Unset):
            credential.expires_at = expires_at
        credential.data = cleaned
        credential.redact_fields = new_redact
        credential.errors = [] if parsed is not None else credential.errors
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


def credential_exchange_run(
    *, organisation: Organisation, type_name: str, values: Mapping[str, Any], name: str = ""
) -> Credential:
    """Exchange an input-only credential (``oauth2-code``) through the app that runs its
    flow (:data:`~credentials.signals.credential_exchange`) and answer what it stored;
    400 ``use_oauth_flow`` when no app does."""
    for _receiver, stored in credential_exchange.send(
        sender=Credential, organisation=organisation, type=type_name, values=values
    ):
        if isinstance(stored, Credential):
            if name:
                stored.name = name
                stored.save(update_fields=["name", "updated_at"])
            return stored
    raise PatchbayError(
        "use_oauth_flow", EXCHANGED_TYPES[type_name], fields=[FieldError("type", "Exchanged.")]
    )
