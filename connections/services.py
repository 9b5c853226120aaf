"""Writes on connections. Keyword-only, typed, one transaction each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.db import IntegrityError, transaction

from connections.events import connection_event
from connections.models import Connection, ConnectionCredential
from connections.oauth.grants import PasswordGrantToken, password_grant_token
from connections.oauth.revoke import connection_deletion_prepare
from connections.verification import credential_invalid, links_verify
from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from connectors.selectors import connector_lock
from core.errors import FieldError, PatchbayError, not_found
from core.text import parse_uuid
from credentials.models import Credential, CredentialType
from credentials.selectors import credential_list, credential_refused
from organisations.models import Organisation

MAX_CREDENTIALS = 20


@dataclass(frozen=True)
class CredentialRef:
    """One ``{authSchemeConfigId, credentialId}`` of a connection body."""

    auth_scheme_config_id: str
    credential_id: str


def _conflict(name: str) -> PatchbayError:
    return PatchbayError(
        "conflict",
        "A connection of this connector already has that name.",
        409,
        [FieldError("name", "Already taken.")],
    )


# Which credential types can authenticate through which kind of auth scheme config. An
# oauth2 config takes the token it issued; password-grant connections also keep the
# resource owner's oauth2-password credential so the token can be fetched again.
CREDENTIAL_TYPES_FOR_SCHEME: dict[str, frozenset[str]] = {
    AuthSchemeType.NONE: frozenset({CredentialType.NONE}),
    AuthSchemeType.API_KEY: frozenset({CredentialType.STRING}),
    AuthSchemeType.BASIC_AUTH: frozenset({CredentialType.BASIC_AUTH}),
    AuthSchemeType.OAUTH2: frozenset({CredentialType.OAUTH2_TOKEN, CredentialType.OAUTH2_PASSWORD}),
    AuthSchemeType.OAUTH1: frozenset({CredentialType.OAUTH1_TOKEN}),
    AuthSchemeType.HMAC: frozenset({CredentialType.STRING, CredentialType.BINARY}),
    AuthSchemeType.CERTIFICATE: frozenset({CredentialType.CERTIFICATE}),
}


def _resolve_links(
    *, organisation: Organisation, connector: Connector, refs: list[CredentialRef]
) -> list[tuple[AuthSchemeConfig, Credential]]:
    """The configs (of ``connector``) and credentials (of ``organisation``) named; 404 otherwise."""
    if len(refs) > MAX_CREDENTIALS:
        raise PatchbayError(
            "invalid_request",
            f"At most {MAX_CREDENTIALS} credentials.",
            400,
            [FieldError("credentials", f"At most {MAX_CREDENTIALS}.")],
        )
    credential_pks = [parse_uuid(ref.credential_id) for ref in refs]
    known = [pk for pk in credential_pks if pk is not None]
    if len(known) != len(credential_pks):
        credential_refused(organisation=organisation, credential_id=None, connector_id=connector.pk)
        raise not_found("credential")
    configs = {
        c.config_id: c
        for c in AuthSchemeConfig.objects.filter(
            connector=connector, config_id__in=[ref.auth_scheme_config_id for ref in refs]
        )
    }
    # Expired credentials already count as deleted (SPEC §4): 404, like any unknown id.
    credentials = {c.pk: c for c in credential_list(organisation=organisation).filter(pk__in=known)}
    links: list[tuple[AuthSchemeConfig, Credential]] = []
    for ref, pk in zip(refs, known, strict=True):
        config = configs.get(ref.auth_scheme_config_id)
        if config is None:
            raise not_found("auth scheme config")
        credential = credentials.get(pk)
        if credential is None:
            credential_refused(
                organisation=organisation, credential_id=pk, connector_id=connector.pk
            )
            raise not_found("credential")
        allowed = CREDENTIAL_TYPES_FOR_SCHEME.get(config.type, frozenset())
        if credential.type not in allowed:
            where = f"credentials[{len(links)}].credentialId"
            message = (
                f"A {credential.type} credential cannot authenticate through a {config.type} "
                f"auth scheme config (expected {', '.join(sorted(allowed)) or 'none'})."
            )
            raise PatchbayError(
                "credential_type_mismatch", message, 400, [FieldError(where, message)]
            )
        links.append((config, credential))
    return links


def _password_grant_tokens(
    organisation: Organisation, links: list[tuple[AuthSchemeConfig, Credential]]
) -> list[PasswordGrantToken]:
    """Tokens fetched now for the oauth2 configs that the body links an ``oauth2-password``
    credential to and no ``oauth2-token`` (or 400 ``token_required``): before any
    transaction, since the provider is called."""
    with_token = {c.pk for c, cred in links if cred.type == CredentialType.OAUTH2_TOKEN}
    fetched: list[PasswordGrantToken] = []
    for index, (config, credential) in enumerate(links):
        if (
            config.type == AuthSchemeType.OAUTH2
            and credential.type == CredentialType.OAUTH2_PASSWORD
            and config.pk not in with_token
        ):
            fetched.append(
                password_grant_token(
                    organisation=organisation,
                    scheme=config,
                    password=credential,
                    field=f"credentials[{index}].credentialId",
                )
            )
            with_token.add(config.pk)
    return fetched


def _store_tokens(
    organisation: Organisation,
    connector: Connector,
    links: list[tuple[AuthSchemeConfig, Credential]],
    fetched: list[PasswordGrantToken],
) -> tuple[list[tuple[AuthSchemeConfig, Credential]], dict[tuple[Any, Any], Any]]:
    """Store each fetched token and link it just before its password credential; returns
    the links and the client of each new token (inside the caller's transaction)."""
    clients: dict[tuple[Any, Any], Any] = {}
    for item in fetched:
        token = Credential.objects.create(
            organisation=organisation,
            name=f"{connector.name[:150]} OAuth 2.0 token",
            type=CredentialType.OAUTH2_TOKEN,
            data=cast(Any, item.data),
            errors=[],
        )
        links.insert(links.index((item.scheme, item.password)), (item.scheme, token))
        clients[(item.scheme.pk, token.pk)] = item.client.pk
    return links, clients


def _replace_links(
    connection: Connection,
    links: list[tuple[AuthSchemeConfig, Credential]],
    new_clients: dict[tuple[Any, Any], Any] | None = None,
) -> None:
    # A token keeps the client that obtained it: its refresh must use that client, even
    # after the config's grant has moved on to a new one.
    clients = {
        (link.auth_scheme_config_id, link.credential_id): link.client_credential_id
        for link in ConnectionCredential.objects.filter(connection=connection)
    }
    clients.update(new_clients or {})
    ConnectionCredential.objects.filter(connection=connection).delete()
    ConnectionCredential.objects.bulk_create(
        ConnectionCredential(
            connection=connection,
            auth_scheme_config=config,
            credential=credential,
            client_credential_id=clients.get((config.pk, credential.pk)),
            position=i,
        )
        for i, (config, credential) in enumerate(links)
    )


def connection_create(
    *,
    organisation: Organisation,
    connector_id: str,
    name: str,
    base_url: str = "",
    connection_template_id: str = "",
    credentials: list[CredentialRef] | None = None,
    verify: bool = False,
) -> Connection:
    """Create a connection of one of the organisation's connectors.

    Another organisation's connector, config or credential is a 404; a taken name a 409.
    With ``verify``, the credentials are checked first (SPEC §9.2): refused → 400
    ``credential_invalid``, nothing stored; accepted → their ``errors`` become ``[]``.
    """
    connector_pk = parse_uuid(connector_id)
    connector = (
        Connector.objects.filter(organisation=organisation, pk=connector_pk).first()
        if connector_pk is not None
        else None
    )
    if connector is None:
        raise not_found("connector")
    # Refusals (404, 400) and any token fetch come before the transaction...
    links = _resolve_links(organisation=organisation, connector=connector, refs=credentials or [])
    checked = None
    if verify:
        if Connection.objects.filter(
            organisation=organisation, connector=connector, name=name
        ).exists():
            raise _conflict(name)  # before the upstream is called
        checked = links_verify(
            connector=connector, base_url=base_url or connector.base_url, links=links
        )
        if not checked.valid:
            raise credential_invalid(checked)
    fetched = _password_grant_tokens(organisation, links)
    try:
        with transaction.atomic():
            # ...and the links are read again under the connector's lock, which every
            # write of its configs takes too: what is linked is what is committed.
            connector_lock(connector=connector)
            links = _resolve_links(
                organisation=organisation, connector=connector, refs=credentials or []
            )
            connection = Connection.objects.create(
                organisation=organisation,
                connector=connector,
                name=name,
                base_url=base_url,
                connection_template_id=connection_template_id,
                verified_at=checked.checked_at if checked else None,
                verification_status=checked.status if checked else None,
                verification_valid=checked.valid if checked else None,
            )
            _replace_links(connection, *_store_tokens(organisation, connector, links, fetched))
            if checked is not None:
                Credential.objects.filter(pk__in=[c.pk for _config, c in links]).update(
                    errors=[], updated_at=checked.checked_at
                )
            connection_event(connection=connection, type="connection.created")
    except IntegrityError as exc:
        raise _conflict(name) from exc
    return connection


def connection_update(
    *,
    connection: Connection,
    name: str | None = None,
    base_url: str | None = None,
    connection_template_id: str | None = None,
    credentials: list[CredentialRef] | None = None,
    connector_id: str | None = None,
) -> Connection:
    """Change a connection's name, base URL, template or (the whole list of) credentials.

    ``connector_id`` may be given only as the connection's own (a body that echoes it).
    """
    if connector_id is not None and connector_id != str(connection.connector_id):
        raise PatchbayError(
            "invalid_request",
            "systemId cannot be changed.",
            400,
            [FieldError("systemId", "Cannot be changed.")],
        )
    links = (
        _resolve_links(
            organisation=connection.organisation, connector=connection.connector, refs=credentials
        )
        if credentials is not None
        else None
    )
    fetched = _password_grant_tokens(connection.organisation, links) if links else []
    if name is not None:
        connection.name = name
    if base_url is not None:
        connection.base_url = base_url
    if connection_template_id is not None:
        connection.connection_template_id = connection_template_id
    try:
        with transaction.atomic():
            if credentials is not None:  # read again under the lock, as in connection_create
                connector_lock(connector=connection.connector)
                links = _resolve_links(
                    organisation=connection.organisation,
                    connector=connection.connector,
                    refs=credentials,
                )
            # Only the fields a PATCH sets: a status a refresh stored meanwhile (needs_reauth)
            # must not be written back over with the one read at the start of the request.
            connection.save(
                update_fields=["name", "base_url", "connection_template_id", "updated_at"]
            )
            if links is not None:
                _replace_links(
                    connection,
                    *_store_tokens(connection.organisation, connection.connector, links, fetched),
                )
    except IntegrityError as exc:
        raise _conflict(connection.name) from exc
    return connection


def connection_delete(*, connection: Connection) -> None:
    """Delete a connection, and the OAuth 2.0 token credentials no other connection uses.

    Emits ``connection.deleted``; once the deletion is committed, the deleted tokens are
    revoked at the config's ``revokeUrl`` (RFC 7009), outside any transaction. A failed
    revocation is recorded (``connection.revocation_failed``) and changes nothing else.
    """
    with transaction.atomic():
        token_ids = list(
            ConnectionCredential.objects.filter(
                connection=connection, credential__type=CredentialType.OAUTH2_TOKEN
            ).values_list("credential_id", flat=True)
        )
        deletion = connection_deletion_prepare(connection=connection)
        connection.delete()
        Credential.objects.filter(pk__in=token_ids).exclude(
            pk__in=ConnectionCredential.objects.values("credential_id")
        ).delete()
        deletion.record()
