"""Writes on hubs, end users, connect sessions and end users' connections (SPEC §8).

Keyword-only, typed: request bodies are validated by :mod:`embed.inputs` before they get
here. What needs the database is checked here — connectors of the organisation, the secret
a connector's auth scheme wants, names already taken — and nothing is stored when anything
is wrong.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.events import connection_event
from connections.models import Connection, ConnectionCredential
from connections.naming import connection_create_default_named
from connections.services import connection_delete
from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from core.errors import FieldError, PatchbayError, not_found
from core.text import parse_uuid
from core.validation import Problems
from credentials.models import Credential, CredentialType
from credentials.services import credential_create, credential_update
from embed.models import ConnectSession, EndUser, Hub
from embed.verify import reprefix as _reprefix
from embed.verify import verification_store
from embed.verify import verified as _verified
from organisations.models import Organisation

logger = logging.getLogger(__name__)

SESSION_TOKEN_PREFIX = "pbs_"
SESSION_TTL = timedelta(minutes=15)


# --- Hubs -------------------------------------------------------------------------------


def _connectors(organisation_id: Any, connector_ids: list[str] | None) -> list[Connector] | None:
    """The organisation's connectors of ``connector_ids`` in their order (duplicates
    dropped); one of another organisation, a malformed id or none at all is a 404."""
    if connector_ids is None:
        return None
    pks = list(dict.fromkeys(parse_uuid(c) for c in connector_ids))
    if any(pk is None for pk in pks):
        raise not_found("connector")
    found = {c.pk: c for c in Connector.objects.filter(organisation_id=organisation_id, pk__in=pks)}
    if len(found) != len(pks):
        raise not_found("connector")
    return [found[pk] for pk in pks if pk is not None]


class HubValues(TypedDict, total=False):
    """A hub's writable values besides its name and connectors (absent: unchanged)."""

    allowed_origins: list[str]
    return_urls: list[str]
    branding_title: str
    branding_logo_url: str
    branding_accent_color: str
    signing_keys: dict[str, Any]


def _save(hub: Hub, connectors: list[Connector] | None, values: HubValues, **save: Any) -> Hub:
    for attr, value in values.items():
        setattr(hub, attr, value)
    with transaction.atomic():
        hub.save(**save)
        if connectors is not None:
            hub.connectors.set(connectors)
    return hub


def hub_create(
    *,
    organisation: Organisation,
    name: str,
    connector_ids: list[str] | None = None,
    **values: Unpack[HubValues],
) -> Hub:
    """Create a hub from validated values (:class:`embed.inputs.Hub`); its connectors must
    be the organisation's (404 otherwise, before anything is written)."""
    connectors = _connectors(organisation.pk, connector_ids) or None  # a new hub has none
    return _save(Hub(organisation=organisation, name=name), connectors, values, force_insert=True)


def hub_update(
    *,
    hub: Hub,
    name: str | None = None,
    connector_ids: list[str] | None = None,
    **values: Unpack[HubValues],
) -> Hub:
    """Change the values given; ``connector_ids`` replaces the whole offered set."""
    connectors = _connectors(hub.organisation_id, connector_ids)
    if name is not None:
        hub.name = name
    return _save(hub, connectors, values)


def hub_delete(*, hub: Hub) -> None:
    """Delete a hub, its end users and their connections (with their own credentials)."""
    with transaction.atomic():
        for end_user in EndUser.objects.filter(hub=hub):
            end_user_delete(end_user=end_user)
        hub.delete()


# --- End users --------------------------------------------------------------------------


def end_user_create(*, hub: Hub, external_id: str, display_name: str = "") -> EndUser:
    """Create an end user of ``hub``; an ``externalId`` already in the hub is a 409."""
    try:
        with transaction.atomic():
            return EndUser.objects.create(
                organisation_id=hub.organisation_id,
                hub=hub,
                external_id=external_id,
                display_name=display_name,
            )
    except IntegrityError as exc:
        raise PatchbayError(
            "conflict",
            "The hub already has an end user with that externalId.",
            409,
            [FieldError("externalId", "Already taken.")],
        ) from exc


def end_user_update(*, end_user: EndUser, display_name: str | None = None) -> EndUser:
    """Change an end user's display name (None: unchanged); ``externalId`` never changes
    (:class:`embed.inputs.EndUserUpdate` refuses a changed one)."""
    if display_name is not None:
        end_user.display_name = display_name
        end_user.save(update_fields=["display_name", "updated_at"])
    return end_user


def end_user_delete(*, end_user: EndUser) -> None:
    """Delete an end user with their connections and those connections' own credentials."""
    with transaction.atomic():
        for connection in Connection.objects.filter(end_user=end_user):
            embed_connection_delete(connection=connection)
        end_user.delete()


# --- Connect sessions --------------------------------------------------------------------


def session_token_hash(token: str) -> str:
    """How a session token is stored and looked up: only its SHA-256 (the token has 256
    random bits, so no pepper or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewConnectSession:
    session: ConnectSession
    token: str  # the only time the token exists outside the caller's hands

    @property
    def expires_at(self) -> datetime:
        return self.session.expires_at


def connect_session_create(
    *,
    hub: Hub,
    external_id: str,
    display_name: str | None = None,
    expires_at: datetime | None = None,
) -> NewConnectSession:
    """Mint a session for the end user ``external_id`` of ``hub``, lasting 15 minutes (or
    until ``expires_at``, for one made from a company-signed token).

    The end user is created on first use; a given ``display_name`` replaces the stored one.
    """
    with transaction.atomic():
        end_user = EndUser.objects.filter(hub=hub, external_id=external_id).first()
        if end_user is None:
            try:
                with transaction.atomic():
                    end_user = EndUser.objects.create(
                        organisation_id=hub.organisation_id,
                        hub=hub,
                        external_id=external_id,
                        display_name=display_name or "",
                    )
            except IntegrityError:  # created concurrently by another session request
                end_user = EndUser.objects.get(hub=hub, external_id=external_id)
        if display_name is not None and display_name != end_user.display_name:
            end_user.display_name = display_name
            end_user.save(update_fields=["display_name", "updated_at"])
        token = SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)
        session = ConnectSession.objects.create(
            organisation_id=hub.organisation_id,
            hub=hub,
            end_user=end_user,
            token_hash=session_token_hash(token),
            expires_at=expires_at or timezone.now() + SESSION_TTL,
        )
    logger.info("connect session created id=%s hub=%s", session.pk, hub.pk)
    return NewConnectSession(session=session, token=token)


def connect_session_revoke(*, session: ConnectSession) -> None:
    """Revoke a session at once (idempotent)."""
    if session.revoked_at is None:
        session.revoked_at = timezone.now()
        session.save(update_fields=["revoked_at"])


# --- End users' connections (api-key / basic-auth forms) -----------------------------------

FORM_TYPES = (AuthSchemeType.API_KEY, AuthSchemeType.BASIC_AUTH)
_SECRET_FIELDS = {AuthSchemeType.API_KEY: "apiKey", AuthSchemeType.BASIC_AUTH: "basicAuth"}


def _secret_data(
    config: AuthSchemeConfig, api_key: str | None, basic_auth: dict[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    """(credential type, data) of the secret ``config`` wants: ``apiKey`` for api-key,
    ``basicAuth`` for basic-auth (the other one refused); the body's shape is checked by
    :class:`embed.inputs.EmbedConnectionCreate`, the secret itself by the credential type."""
    wanted = _SECRET_FIELDS.get(AuthSchemeType(config.type))
    if wanted is None:
        raise PatchbayError(
            "unsupported_auth_scheme",
            "Connections of this auth scheme cannot be made with a form.",
            400,
            [FieldError("authSchemeConfigId", "Not api-key or basic-auth.")],
        )
    given = {"apiKey": api_key, "basicAuth": basic_auth}
    other = "basicAuth" if wanted == "apiKey" else "apiKey"
    problems = Problems()
    if given[other] is not None:
        problems.add(other, f"Not used by a {config.type} connector; send {wanted}.")
    if api_key is None and wanted == "apiKey":
        problems.add("apiKey", "Required: a non-empty string.")
    if basic_auth is None and wanted == "basicAuth":
        problems.add("basicAuth", "Required: {username, password}.")
    problems.raise_if_any()
    if wanted == "apiKey" or basic_auth is None:
        return CredentialType.STRING, {"value": api_key}
    return CredentialType.BASIC_AUTH, {
        "username": basic_auth.get("username"),
        "password": basic_auth["password"],
    }


def embed_connection_create(
    *,
    end_user: EndUser,
    connector: Connector,
    config: AuthSchemeConfig,
    name: str | None = None,
    api_key: str | None = None,
    basic_auth: dict[str, Any] | None = None,
    verify: bool = False,
) -> Connection:
    """A connection of ``end_user`` from an API-key or basic-auth form, with its own
    credential (``string`` or ``basic-auth``). Secrets are validated, never echoed; with
    ``verify``, checked upstream first (400 ``credential_invalid``, nothing stored)."""
    credential_type, data = _secret_data(config, api_key, basic_auth)
    key = _SECRET_FIELDS[AuthSchemeType(config.type)]
    organisation = end_user.organisation
    checked = _verified(organisation, connector, config, credential_type, data, key, verify)
    try:
        with transaction.atomic():
            try:
                credential = credential_create(
                    organisation=organisation,
                    name=f"{connector.name[:150]} {config.type}",
                    type=credential_type,
                    data=data,
                )
            except PatchbayError as error:
                raise _reprefix(error, key) from None
            connection = _form_connection(end_user, connector, name)
            ConnectionCredential.objects.create(
                connection=connection, auth_scheme_config=config, credential=credential
            )
            connection_event(connection=connection, type="connection.created")
            if checked is not None:
                verification_store(connection, checked)
    except IntegrityError as exc:
        raise PatchbayError(
            "conflict",
            "A connection of this connector already has that name.",
            409,
            [FieldError("name", "Already taken.")],
        ) from exc
    logger.info(
        "embed connection created id=%s end_user=%s connector=%s",
        connection.pk,
        end_user.pk,
        connector.pk,
    )
    return connection


def _form_connection(end_user: EndUser, connector: Connector, name: str | None) -> Connection:
    """The connection row: under the given name (taken → IntegrityError → 409), or under a
    free default name, as for OAuth connections."""
    if name:
        return Connection.objects.create(
            organisation=end_user.organisation, connector=connector, end_user=end_user, name=name
        )
    return connection_create_default_named(
        organisation=end_user.organisation, connector=connector, end_user_id=end_user.pk
    )


def embed_connection_secret_replace(
    *,
    connection: Connection,
    api_key: str | None = None,
    basic_auth: dict[str, Any] | None = None,
    verify: bool = False,
) -> Connection:
    """Reconnect an api-key/basic-auth connection: replace the secret of its credential
    (with ``verify``, only once the upstream accepted it)."""
    link = (
        ConnectionCredential.objects.filter(
            connection=connection, auth_scheme_config__type__in=FORM_TYPES
        )
        .select_related("auth_scheme_config", "credential")
        .first()
    )
    if link is None:
        raise PatchbayError(
            "unsupported_auth_scheme",
            "This connection is re-authorised through OAuth 2.0: initialise with connectionId.",
            400,
        )
    credential_type, data = _secret_data(link.auth_scheme_config, api_key, basic_auth)
    key = _SECRET_FIELDS[AuthSchemeType(link.auth_scheme_config.type)]
    config, connector = link.auth_scheme_config, connection.connector
    organisation = connection.organisation
    checked = _verified(
        organisation, connector, config, credential_type, data, key, verify, connection.base_url
    )
    with transaction.atomic():
        try:
            if link.credential.type == credential_type:
                credential_update(credential=link.credential, data=data, partial=False)
            else:
                link.credential = credential_create(
                    organisation=connection.organisation,
                    name=link.credential.name,
                    type=credential_type,
                    data=data,
                )
                link.save(update_fields=["credential"])
        except PatchbayError as error:
            raise _reprefix(error, key) from None
        connection.status = "active"
        connection.save(update_fields=["status", "updated_at"])
        if checked is not None:
            verification_store(connection, checked)
    return connection


_OWNED_TYPES = (
    CredentialType.OAUTH2_TOKEN,
    CredentialType.STRING,
    CredentialType.BASIC_AUTH,
)


def embed_connection_delete(*, connection: Connection) -> None:
    """Delete an end user's connection and the credentials made for it (token, API key,
    basic-auth) that no other connection uses. Client credentials are the organisation's
    and stay."""
    with transaction.atomic():
        owned = list(
            ConnectionCredential.objects.filter(
                connection=connection, credential__type__in=_OWNED_TYPES
            ).values_list("credential_id", flat=True)
        )
        connection_delete(connection=connection)
        Credential.objects.filter(pk__in=owned).exclude(
            pk__in=ConnectionCredential.objects.values("credential_id")
        ).delete()
