"""Writes of connectors and their auth scheme configs (SPEC §4).

Bodies are validated by :mod:`connectors.inputs` (declared in :mod:`connectors.schemes`):
the services receive clean values. Here the credential references a config names are
resolved inside the connector's
organisation, and OAuth 2.0 grant clients given as ``clientId`` +
``clientSecret`` become ``oauth2-client`` credentials, so no client secret is
ever stored in ``AuthSchemeConfig.settings``.
"""

from __future__ import annotations

import copy
import logging
import uuid
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError

from connectors.grant_clients import grant_client_write, grant_credential_ids, release_grant_clients
from connectors.models import AuthSchemeConfig, Connector
from connectors.schemes import MAX_AUTH_SCHEME_CONFIGS, CleanScheme
from connectors.selectors import connector_lock
from core.db import is_protected
from core.errors import FieldError, PatchbayError
from core.text import parse_uuid
from core.validation import join
from credentials.models import Credential, CredentialType
from credentials.selectors import credential_get, credential_refused
from organisations.models import Organisation

logger = logging.getLogger("patchbay.connectors")

__all__ = ["MAX_AUTH_SCHEME_CONFIGS", "UNSET"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


# --- connectors -----------------------------------------------------------------------


def _with_ids(schemes: list[CleanScheme]) -> list[CleanScheme]:
    for scheme in schemes:
        if scheme.config_id is None:
            scheme.config_id = uuid.uuid4().hex
    return schemes


def _name_conflict(name: str) -> PatchbayError:
    return PatchbayError(
        "conflict",
        "A connector with this name already exists in the organisation.",
        status=409,
        fields=[FieldError("name", "Already used.")],
    )


def connector_create(
    *,
    organisation: Organisation,
    name: str,
    base_url: str = "",
    auth_scheme_configs: list[CleanScheme] | None = None,
) -> Connector:
    """Create a connector and its auth scheme configs in one transaction.

    Names are unique per organisation (409 ``conflict``); configs without an id get one.
    """
    schemes = _with_ids(auth_scheme_configs or [])
    try:
        with transaction.atomic():
            if Connector.objects.filter(organisation=organisation, name=name).exists():
                raise _name_conflict(name)
            connector = Connector.objects.create(
                organisation=organisation, name=name, base_url=base_url
            )
            for position, scheme in enumerate(schemes):
                _config_save(
                    connector=connector,
                    scheme=scheme,
                    position=position,
                    existing=None,
                )
    except IntegrityError as exc:  # a concurrent create with the same name
        raise _name_conflict(name) from exc
    logger.info("connector created id=%s organisation=%s", connector.pk, organisation.pk)
    return connector


def connector_update(
    *,
    connector: Connector,
    name: str | _Unset = UNSET,
    base_url: str | _Unset = UNSET,
    auth_scheme_configs: list[CleanScheme] | _Unset = UNSET,
) -> Connector:
    """Change a connector. ``auth_scheme_configs``, when given, is the complete new list:
    configs are created or replaced by id, and configs left out are deleted
    (409 ``auth_scheme_config_in_use`` if a connection uses one)."""
    clean_name = None if isinstance(name, _Unset) else name
    clean_base = None if isinstance(base_url, _Unset) else base_url
    schemes = None if isinstance(auth_scheme_configs, _Unset) else _with_ids(auth_scheme_configs)
    try:
        with transaction.atomic():
            connector_lock(connector=connector)
            if clean_name is not None and clean_name != connector.name:
                taken = Connector.objects.filter(
                    organisation_id=connector.organisation_id, name=clean_name
                ).exclude(pk=connector.pk)
                if taken.exists():
                    raise _name_conflict(clean_name)
                connector.name = clean_name
            if clean_base is not None:
                connector.base_url = clean_base
            # Only what this request changes: a concurrent update of another field stays.
            connector.save(update_fields=["name", "base_url", "updated_at"])
            if schemes is not None:
                existing = {
                    c.config_id: c
                    for c in AuthSchemeConfig.objects.select_for_update().filter(
                        connector=connector
                    )
                }
                wanted = {s.config_id for s in schemes}
                for config_id, config in existing.items():
                    if config_id not in wanted:
                        _config_delete(config)
                for position, scheme in enumerate(schemes):
                    current = existing.get(scheme.config_id or "")
                    # As for PUT: a config a connection relies on keeps its type.
                    if (
                        current is not None
                        and current.type != scheme.type
                        and _config_in_use(current)
                    ):
                        raise _in_use()
                    _config_save(
                        connector=connector, scheme=scheme, position=position, existing=current
                    )
    except IntegrityError as exc:
        raise _name_conflict(clean_name or connector.name) from exc
    # Drop any prefetched configs so the caller's representation is fresh.
    return Connector.objects.get(pk=connector.pk)


def connector_delete(*, connector: Connector) -> None:
    """Delete a connector and its configs.

    A connector with connections is not deleted (409 ``connector_in_use``):
    deleting it would silently delete every customer's connection and tokens. The
    connections' foreign keys are ``PROTECT``, so the deletion itself refuses.
    """
    connector_id = connector.pk
    try:
        with transaction.atomic():
            owned = {
                credential_id
                for ids in AuthSchemeConfig.objects.filter(connector=connector).values_list(
                    "grant_clients", flat=True
                )
                for credential_id in ids
            }
            connector.delete()
            release_grant_clients(connector.organisation, owned)
    except ProtectedError as exc:
        raise PatchbayError(
            "connector_in_use",
            "The connector has connections; delete them first.",
            status=409,
        ) from exc
    logger.info("connector deleted id=%s", connector_id)


# --- auth scheme configs ----------------------------------------------------------------


def auth_scheme_config_put(
    *, connector: Connector, scheme: CleanScheme
) -> tuple[AuthSchemeConfig, bool]:
    """Create or replace the config ``scheme.config_id`` of ``connector``; True when created.

    Replacing keeps write-only secrets that are not given again (a client cannot read
    them back). Changing the type of a config a connection uses is refused (409
    ``auth_scheme_config_in_use``).
    """
    config_id = scheme.config_id
    assert config_id is not None, "a PUT names its config in the path"
    try:
        with transaction.atomic():
            # Concurrent PUTs of one connector's configs, and connections linking them,
            # queue up.
            connector_lock(connector=connector)
            existing = (
                AuthSchemeConfig.objects.select_for_update()
                .filter(connector=connector, config_id=config_id)
                .first()
            )
            if existing is not None:
                if existing.type != scheme.type and _config_in_use(existing):
                    raise _in_use()
                position = existing.position
            else:
                siblings = AuthSchemeConfig.objects.filter(connector=connector)
                # The same cap as a whole list written with the connector (under its lock).
                if siblings.count() >= MAX_AUTH_SCHEME_CONFIGS:
                    raise PatchbayError(
                        "limit_reached",
                        f"A connector may have at most {MAX_AUTH_SCHEME_CONFIGS} auth scheme "
                        "configs.",
                    )
                top = siblings.aggregate(top=Max("position"))["top"]
                position = 0 if top is None else top + 1
            config = _config_save(
                connector=connector, scheme=scheme, position=position, existing=existing
            )
            connector.save(update_fields=["updated_at"])
    except IntegrityError as exc:
        raise PatchbayError(
            "conflict", "The config was created concurrently; retry.", status=409
        ) from exc
    return config, existing is None


def auth_scheme_config_delete(*, auth_scheme_config: AuthSchemeConfig) -> None:
    """Delete a config; 409 ``auth_scheme_config_in_use`` while a connection uses it."""
    with transaction.atomic():
        connector_lock(connector=auth_scheme_config.connector)
        _config_delete(auth_scheme_config)
        Connector.objects.get(pk=auth_scheme_config.connector_id).save(update_fields=["updated_at"])


def _config_in_use(config: AuthSchemeConfig) -> bool:
    """A connection links it (through a ``PROTECT`` foreign key)."""
    return is_protected(config)


def _in_use() -> PatchbayError:
    return PatchbayError(
        "auth_scheme_config_in_use",
        "A connection uses this auth scheme config; delete or change the connection first.",
        status=409,
    )


def _config_delete(config: AuthSchemeConfig) -> None:
    # ProtectedError is an IntegrityError: answered here, never as a callers' name conflict.
    try:
        config.delete()
    except ProtectedError as exc:
        raise _in_use() from exc
    release_grant_clients(config.organisation, set(config.grant_clients))


def _same_organisation(given: str | None, organisation: Organisation) -> bool:
    return given is None or parse_uuid(given) == organisation.pk


def _reference_not_found(path: str) -> PatchbayError:
    return PatchbayError(
        "not_found",
        "No such credential.",
        status=404,
        fields=[FieldError(path, "No such credential.")],
    )


def _config_save(
    *,
    connector: Connector,
    scheme: CleanScheme,
    position: int,
    existing: AuthSchemeConfig | None,
) -> AuthSchemeConfig:
    """Resolve a clean scheme's references in the connector's organisation and store it."""
    organisation = connector.organisation
    settings = copy.deepcopy(scheme.settings)
    for ref in scheme.credential_refs:
        ref_path = ref.path  # already the full API path (parsed with the list prefix)
        if not _same_organisation(ref.organisation_id, organisation):
            credential_refused(
                organisation=organisation,
                credential_id=ref.credential_id,
                another_organisation=True,
                connector_id=connector.pk,
            )
            raise _reference_not_found(ref_path)
        try:
            credential = credential_get(
                organisation=organisation, credential_id=ref.credential_id, type=ref.required_type
            )
        except PatchbayError as exc:
            raise _reference_not_found(ref_path) from exc
        if ref.grant is not None:
            item_path = ref_path.rsplit(".", 1)[0]
            settings["grant"][ref.grant] = _grant_entry(credential, ref.client_id, item_path)
    owned = set(existing.grant_clients) if existing is not None else set()
    for client in scheme.grant_clients:
        if not _same_organisation(client.organisation_id, organisation):
            credential_refused(
                organisation=organisation,
                credential_id=None,
                another_organisation=True,
                connector_id=connector.pk,
            )
            raise _reference_not_found(join(client.path, "organisationId"))
        credential = grant_client_write(
            organisation=organisation,
            existing=existing,
            owned=owned,
            grant=client.grant,
            client_id=client.client_id,
            client_secret=client.client_secret,
            token_url=settings.get("tokenUrl") or "",
            scopes=settings.get("defaultScopes") or [],
            name=f"{connector.name} / {scheme.config_id} / {client.grant}"[:200],
        )
        owned.add(str(credential.pk))
        settings["grant"][client.grant] = _grant_entry(credential, None, client.path)
    secrets = scheme.secrets
    if secrets is None and existing is not None and existing.type == scheme.type:
        secrets = existing.secrets
    config = existing or AuthSchemeConfig(
        organisation=organisation, connector=connector, config_id=scheme.config_id or ""
    )
    config.type = scheme.type
    config.description = scheme.description
    config.verification = scheme.verification
    config.settings = settings
    config.secrets = secrets
    config.position = position
    named = grant_credential_ids(settings)
    config.grant_clients = sorted(owned & named)
    config.save()
    release_grant_clients(organisation, owned - named)
    return config


def _grant_entry(credential: Credential, client_id: str | None, path: str) -> dict[str, Any]:
    data = credential.data if isinstance(credential.data, dict) else {}
    stored_client_id = data.get("clientId")
    if client_id is not None and client_id != stored_client_id:
        raise PatchbayError(
            "client_id_mismatch",
            "clientId does not match the credential's client id.",
            fields=[FieldError(join(path, "clientId"), "Does not match.")],
        )
    assert credential.type == CredentialType.OAUTH2_CLIENT
    return {
        "credentialId": str(credential.pk),
        "organisationId": str(credential.organisation_id),
        "clientId": stored_client_id,
    }
