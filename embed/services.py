"""Writes on hubs, end users, connect sessions and end users' connections (SPEC §8).

Keyword-only, typed. Validation of untrusted input happens here, collecting every
problem into one 400; nothing is stored when anything is wrong.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.events import connection_event
from connections.models import Connection, ConnectionCredential
from connections.naming import connection_create_default_named
from connections.services import connection_delete
from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from core.errors import FieldError, PatchbayError, not_found
from core.outbound import is_loopback_host
from core.text import has_control_characters, parse_uuid
from core.validation import Problems, clean_text, join, url_problem
from credentials.models import Credential, CredentialType
from credentials.services import credential_create, credential_update
from embed.models import DEFAULT_ACCENT_COLOR, ConnectSession, EndUser, Hub
from organisations.models import Organisation

logger = logging.getLogger(__name__)

SESSION_TOKEN_PREFIX = "pbs_"
SESSION_TTL = timedelta(minutes=15)
MAX_ORIGINS = 20
MAX_RETURN_URLS = 20
MAX_HUB_CONNECTORS = 100
_ACCENT = re.compile(r"^#[0-9a-fA-F]{6}$")
_DEFAULT_PORTS = {"https": 443, "http": 80}


# --- Hubs -------------------------------------------------------------------------------


def origin_problem(value: str) -> str | None:
    """Why ``value`` is not an exact web origin a hub may allow, or None.

    ``scheme://host[:port]`` and nothing else: no path (not even ``/``), query,
    fragment, user information or wildcard; https (plain http only for loopback hosts
    with ``PATCHBAY_ALLOW_INSECURE_HTTP``); an ASCII host (IDNs in punycode), lower case,
    no default port — the exact string a browser puts in ``event.origin``.
    """
    if len(value) > 300:
        return "Must be at most 300 characters."
    if has_control_characters(value) or any(ch.isspace() for ch in value):
        return "Must not contain whitespace or control characters."
    if not value.isascii():
        return "Must be ASCII (write internationalised hosts in punycode)."
    if "*" in value:
        return "Wildcards are not allowed: list each origin exactly."
    try:
        parts = urlsplit(value)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "Must be an origin like https://app.example.com."
    if parts.scheme not in ("https", "http") or not host or "//" not in value:
        return "Must be an origin like https://app.example.com."
    if "@" in parts.netloc:
        return "Must not contain user information."
    if parts.path or parts.query or parts.fragment or value.endswith(("?", "#")):
        return "Must be an origin only: no path, trailing slash, query or fragment."
    if parts.scheme == "http" and not (
        settings.PATCHBAY_ALLOW_INSECURE_HTTP and is_loopback_host(host)
    ):
        return "Must use https (http is only accepted for loopback hosts in development)."
    if port is not None and port == _DEFAULT_PORTS[parts.scheme]:
        return "Leave out the default port."
    if value != value.lower():
        return "Must be lower case, as browsers report origins."
    # What a browser would report for it: catches an empty port ("host:") or a port with
    # leading zeros (":08443"), which urlsplit accepts but no event.origin ever equals.
    shown = f"[{host}]" if ":" in host else host
    if value != f"{parts.scheme}://{shown}" + (f":{port}" if port is not None else ""):
        return "Must be an origin exactly as browsers report it, like https://app.example.com:8443."
    return None


def _clean_url_list(value: Any, path: str, problems: Problems, *, origins: bool) -> list[str]:
    limit = MAX_ORIGINS if origins else MAX_RETURN_URLS
    if not isinstance(value, list):
        problems.add(path, "Must be a list of strings.")
        return []
    if len(value) > limit:
        problems.add(path, f"Must have at most {limit} items.")
        return []
    out: list[str] = []
    for index, item in enumerate(value):
        item_path = join(path, index)
        if not isinstance(item, str) or not item:
            problems.add(item_path, "Must be a non-empty string.")
            continue
        problem = origin_problem(item) if origins else url_problem(item)
        if problem is not None:
            problems.add(item_path, problem)
        elif item not in out:
            out.append(item)
    return out


@dataclass(frozen=True)
class HubFields:
    """The validated writable fields present in a hub body (None: not given)."""

    name: str | None = None
    connectors: list[Connector] | None = None
    allowed_origins: list[str] | None = None
    return_urls: list[str] | None = None
    branding_title: str | None = None
    branding_logo_url: str | None = None
    branding_accent_color: str | None = None


HUB_WRITABLE = frozenset({"name", "connectors", "allowedOrigins", "returnUrls", "branding"})
HUB_READ_ONLY = frozenset({"id", "createdAt", "updatedAt"})


def hub_fields_clean(*, organisation: Organisation, body: Any, partial: bool) -> HubFields:
    """Validate a hub body. Every problem in one 400; a connector of another organisation
    (or none at all) is a 404, checked last so a bad body never costs a query."""
    problems = Problems()
    if not isinstance(body, dict):
        raise PatchbayError("invalid_request", "The body must be a JSON object.", 400)
    for key in body:
        if key not in HUB_WRITABLE | HUB_READ_ONLY:
            problems.add(str(key)[:64], "Unknown field.")
    name = None
    if "name" in body or not partial:
        name = clean_text(body.get("name"), "name", problems, max_length=200, required=True)
    origins = (
        _clean_url_list(body["allowedOrigins"], "allowedOrigins", problems, origins=True)
        if body.get("allowedOrigins") is not None
        else None
    )
    return_urls = (
        _clean_url_list(body["returnUrls"], "returnUrls", problems, origins=False)
        if body.get("returnUrls") is not None
        else None
    )
    title = logo = accent = None
    branding = body.get("branding")
    if branding is not None:
        if not isinstance(branding, dict):
            problems.add("branding", "Must be an object {title, logoUrl, accentColor}.")
        else:
            for key in branding:
                if key not in ("title", "logoUrl", "accentColor"):
                    problems.add(join("branding", str(key)[:64]), "Unknown field.")
            if "title" in branding:
                title = clean_text(branding["title"], "branding.title", problems, max_length=200)
                title = title or ""
            if "logoUrl" in branding:
                logo = _clean_logo(branding["logoUrl"], problems)
            if "accentColor" in branding:
                accent = _clean_accent(branding["accentColor"], problems)
    connector_ids: list[Any] | None = None
    raw_connectors = body.get("connectors")
    if raw_connectors is not None:
        if not isinstance(raw_connectors, list) or not all(
            isinstance(c, str) for c in raw_connectors
        ):
            problems.add("connectors", "Must be a list of connector ids.")
        elif len(raw_connectors) > MAX_HUB_CONNECTORS:
            problems.add("connectors", f"Must have at most {MAX_HUB_CONNECTORS} items.")
        else:
            connector_ids = raw_connectors
    problems.raise_if_any()

    connectors: list[Connector] | None = None
    if connector_ids is not None:
        pks = list(dict.fromkeys(parse_uuid(c) for c in connector_ids))
        if any(pk is None for pk in pks):
            raise not_found("connector")
        found = {c.pk: c for c in Connector.objects.filter(organisation=organisation, pk__in=pks)}
        if len(found) != len(pks):
            raise not_found("connector")
        connectors = [found[pk] for pk in pks if pk is not None]
    return HubFields(
        name=name,
        connectors=connectors,
        allowed_origins=origins,
        return_urls=return_urls,
        branding_title=title,
        branding_logo_url=logo,
        branding_accent_color=accent,
    )


def _clean_logo(value: Any, problems: Problems) -> str | None:
    text = clean_text(value, "branding.logoUrl", problems, max_length=2048)
    if not text:
        return "" if text is not None or value is None else None
    problem = url_problem(text)
    if problem is not None:
        problems.add("branding.logoUrl", problem)
        return None
    return text


def _clean_accent(value: Any, problems: Problems) -> str | None:
    if value is None:
        return DEFAULT_ACCENT_COLOR
    if not isinstance(value, str) or not _ACCENT.match(value):
        problems.add("branding.accentColor", "Must be a colour like #1a2b3c.")
        return None
    return value.lower()


def _apply(hub: Hub, fields: HubFields) -> None:
    for attr in (
        "name",
        "allowed_origins",
        "return_urls",
        "branding_title",
        "branding_logo_url",
        "branding_accent_color",
    ):
        value = getattr(fields, attr)
        if value is not None:
            setattr(hub, attr, value)


def hub_create(*, organisation: Organisation, fields: HubFields) -> Hub:
    """Create a hub from validated fields (see :func:`hub_fields_clean`)."""
    hub = Hub(organisation=organisation)
    _apply(hub, fields)
    with transaction.atomic():
        hub.save(force_insert=True)
        if fields.connectors:
            hub.connectors.set(fields.connectors)
    return hub


def hub_update(*, hub: Hub, fields: HubFields) -> Hub:
    """Change the fields given; ``connectors`` replaces the whole offered set."""
    _apply(hub, fields)
    with transaction.atomic():
        hub.save()
        if fields.connectors is not None:
            hub.connectors.set(fields.connectors)
    return hub


def hub_delete(*, hub: Hub) -> None:
    """Delete a hub, its end users and their connections (with their own credentials)."""
    with transaction.atomic():
        for end_user in EndUser.objects.filter(hub=hub):
            end_user_delete(end_user=end_user)
        hub.delete()


# --- End users --------------------------------------------------------------------------


def _clean_external_id(value: Any, problems: Problems, path: str = "externalId") -> str | None:
    return clean_text(value, path, problems, max_length=200, required=True)


def _clean_display_name(value: Any, problems: Problems, path: str = "displayName") -> str | None:
    return clean_text(value, path, problems, max_length=200)


def end_user_create(
    *, hub: Hub, external_id: Any, display_name: Any = None, path: str = ""
) -> EndUser:
    """Create an end user of ``hub``; an ``externalId`` already in the hub is a 409."""
    problems = Problems()
    external = _clean_external_id(external_id, problems, join(path, "externalId"))
    display = _clean_display_name(display_name, problems, join(path, "displayName"))
    problems.raise_if_any()
    try:
        with transaction.atomic():
            return EndUser.objects.create(
                organisation_id=hub.organisation_id,
                hub=hub,
                external_id=external or "",
                display_name=display or "",
            )
    except IntegrityError as exc:
        raise PatchbayError(
            "conflict",
            "The hub already has an end user with that externalId.",
            409,
            [FieldError(join(path, "externalId"), "Already taken.")],
        ) from exc


def end_user_update(*, end_user: EndUser, body: Any) -> EndUser:
    """Change an end user's ``displayName``; ``externalId`` is immutable (400 if changed)."""
    problems = Problems()
    if not isinstance(body, dict):
        raise PatchbayError("invalid_request", "The body must be a JSON object.", 400)
    for key in body:
        if key not in ("displayName", "externalId", "id", "createdAt", "updatedAt"):
            problems.add(str(key)[:64], "Unknown field.")
    if "externalId" in body and body["externalId"] != end_user.external_id:
        problems.add("externalId", "Cannot be changed.")
    display = _clean_display_name(body.get("displayName"), problems)
    problems.raise_if_any()
    if "displayName" in body:
        end_user.display_name = display or ""
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


def connect_session_create(*, hub: Hub, body: Any) -> NewConnectSession:
    """Mint a 15-minute session for ``{endUser: {externalId, displayName}}``.

    The end user is created on first use; a given ``displayName`` replaces the stored one.
    """
    problems = Problems()
    if not isinstance(body, dict):
        raise PatchbayError("invalid_request", "The body must be a JSON object.", 400)
    for key in body:
        if key != "endUser":
            problems.add(str(key)[:64], "Unknown field.")
    raw = body.get("endUser")
    if not isinstance(raw, dict):
        problems.add("endUser", "Required: {externalId, displayName}.")
        problems.raise_if_any()
        raise AssertionError("unreachable")
    for key in raw:
        if key not in ("externalId", "displayName"):
            problems.add(join("endUser", str(key)[:64]), "Unknown field.")
    external = _clean_external_id(raw.get("externalId"), problems, "endUser.externalId")
    display = _clean_display_name(raw.get("displayName"), problems, "endUser.displayName")
    problems.raise_if_any()
    assert external is not None

    with transaction.atomic():
        end_user = EndUser.objects.filter(hub=hub, external_id=external).first()
        if end_user is None:
            try:
                with transaction.atomic():
                    end_user = EndUser.objects.create(
                        organisation_id=hub.organisation_id,
                        hub=hub,
                        external_id=external,
                        display_name=display or "",
                    )
            except IntegrityError:  # created concurrently by another session request
                end_user = EndUser.objects.get(hub=hub, external_id=external)
        if display is not None and display != end_user.display_name:
            end_user.display_name = display
            end_user.save(update_fields=["display_name", "updated_at"])
        token = SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)
        session = ConnectSession.objects.create(
            organisation_id=hub.organisation_id,
            hub=hub,
            end_user=end_user,
            token_hash=session_token_hash(token),
            expires_at=timezone.now() + SESSION_TTL,
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


def _secret_data(config: AuthSchemeConfig, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(credential type, data) from the body's ``apiKey`` / ``basicAuth`` for ``config``."""
    wanted = _SECRET_FIELDS.get(AuthSchemeType(config.type))
    if wanted is None:
        raise PatchbayError(
            "unsupported_auth_scheme",
            "Connections of this auth scheme cannot be made with a form.",
            400,
            [FieldError("authSchemeConfigId", "Not api-key or basic-auth.")],
        )
    other = "basicAuth" if wanted == "apiKey" else "apiKey"
    problems = Problems()
    if body.get(other) is not None:
        problems.add(other, f"Not used by a {config.type} connector; send {wanted}.")
    if wanted == "apiKey":
        value = body.get("apiKey")
        if not isinstance(value, str) or not value:
            problems.add("apiKey", "Required: a non-empty string.")
        problems.raise_if_any()
        return CredentialType.STRING, {"value": value}
    basic = body.get("basicAuth")
    if not isinstance(basic, dict):
        problems.add("basicAuth", "Required: {username, password}.")
        problems.raise_if_any()
        raise AssertionError("unreachable")
    for key in basic:
        if key not in ("username", "password"):
            problems.add(join("basicAuth", str(key)[:64]), "Unknown field.")
    if not isinstance(basic.get("password"), str) or not basic.get("password"):
        problems.add("basicAuth.password", "Required: a non-empty string.")
    problems.raise_if_any()
    return CredentialType.BASIC_AUTH, {
        "username": basic.get("username"),
        "password": basic.get("password"),
    }


def _reprefix(error: PatchbayError, key: str) -> PatchbayError:
    """A credential service's ``data.string.value`` → the embed body's ``apiKey``."""
    inner = "data.string.value" if key == "apiKey" else "data.basicAuth"
    fields = []
    for f in error.fields:
        name = f.field.replace(inner, key) if key == "basicAuth" else key
        fields.append(FieldError(name if f.field.startswith(inner) else f.field, f.message))
    message = f"{fields[0].field}: {fields[0].message}" if len(fields) == 1 else error.message
    return PatchbayError(error.code, message, error.status, fields)


def embed_connection_create(
    *,
    end_user: EndUser,
    connector: Connector,
    config: AuthSchemeConfig,
    name: str | None,
    body: dict[str, Any],
) -> Connection:
    """A connection of ``end_user`` from an API-key or basic-auth form, with its own
    credential (``string`` or ``basic-auth``). Secrets are validated, never echoed."""
    credential_type, data = _secret_data(config, body)
    key = _SECRET_FIELDS[AuthSchemeType(config.type)]
    organisation = end_user.organisation
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


def embed_connection_secret_replace(*, connection: Connection, body: dict[str, Any]) -> Connection:
    """Reconnect an api-key/basic-auth connection: replace the secret of its credential."""
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
    credential_type, data = _secret_data(link.auth_scheme_config, body)
    key = _SECRET_FIELDS[AuthSchemeType(link.auth_scheme_config.type)]
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
