"""Connections whose token needs no browser: client-credentials and password grants.

``POST /api/v2/o/{organisation_id}/connectors/{connector_id}/oauth2/token`` with
``{name?, authSchemeConfigId?, credential?: {id, organisationId?}}`` fetches a token
with the connector's oauth2 config's grant (``grant.type`` ``clientCredentials`` or
``password``) and answers 201 with the new connection. The client is the grant's
``oauth2-client`` credential; the password grant also needs an ``oauth2-password``
credential (``credential``), which is linked to the connection so that the token
can be fetched again when it expires (:mod:`connections.oauth.refresh`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.db import IntegrityError, transaction

from connections.models import Connection, ConnectionCredential
from connections.naming import free_name
from connections.oauth.renewal import NON_INTERACTIVE_GRANTS, grant_fetch
from connections.oauth.tokens import TokenExchangeFailed, TokenRequestError
from connectors.models import AuthSchemeConfig, Connector
from connectors.oauth2 import OAuth2Config
from core.errors import FieldError, PatchbayError, invalid, not_found
from core.text import parse_uuid
from credentials.models import Credential, CredentialType
from credentials.selectors import credential_list, credential_refused
from organisations.models import Organisation
from webhooks.services import event_emit


@dataclass(frozen=True)
class GrantParams:
    """A request for a connection made with a non-interactive grant (the body as
    :class:`connections.inputs.GrantTokenRequest` parses it)."""

    organisation: Organisation
    connector_id: str
    name: str | None = None
    auth_scheme_config_id: str | None = None
    credential_id: str | None = None
    credential_organisation_id: str | None = None


def _oauth2_config(connector: Connector, config_id: str | None) -> AuthSchemeConfig:
    configs = list(AuthSchemeConfig.objects.filter(connector=connector, type="oauth2"))
    if config_id is not None:
        chosen = [c for c in configs if c.config_id == config_id]
        if not chosen:
            raise not_found("auth scheme config")
        return chosen[0]
    if not configs:
        raise invalid("authSchemeConfigId", "The connector has no oauth2 auth scheme config.")
    if len(configs) > 1:
        raise invalid(
            "authSchemeConfigId",
            "The connector has several oauth2 auth scheme configs: name one.",
            "auth_scheme_config_required",
        )
    return configs[0]


def _grant_client(organisation: Organisation, config: OAuth2Config) -> Credential:
    grant = config.grants.get(config.grant_type)
    pk = parse_uuid(grant.credential_id) if grant is not None else None
    client = (  # expired credentials count as deleted
        credential_list(organisation=organisation, type=CredentialType.OAUTH2_CLIENT)
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if client is None:
        raise PatchbayError(
            "grant_client_missing",
            f"The {config.grant_type} grant of this config has no usable client credential.",
            400,
            [FieldError(f"grant.{config.grant_type}.credentialId", "Missing or unknown.")],
        )
    return client


def _password_credential(params: GrantParams) -> Credential:
    if params.credential_id is None:
        raise invalid("credential", "The password grant needs an oauth2-password credential.")
    if (
        params.credential_organisation_id is not None
        and parse_uuid(params.credential_organisation_id) != params.organisation.pk
    ):
        credential_refused(
            organisation=params.organisation,
            credential_id=params.credential_id,
            another_organisation=True,
        )
        raise not_found("credential")
    pk = parse_uuid(params.credential_id)
    credential = (  # expired credentials count as deleted
        credential_list(organisation=params.organisation, type=CredentialType.OAUTH2_PASSWORD)
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if credential is None:
        credential_refused(organisation=params.organisation, credential_id=params.credential_id)
        raise not_found("credential")
    return credential


def _name_taken(organisation: Organisation, connector: Connector, name: str) -> PatchbayError:
    return PatchbayError(
        "conflict",
        "A connection of this connector already has that name.",
        409,
        [FieldError("name", "Already taken.")],
    )


def connection_create_with_grant(params: GrantParams) -> Connection:
    """Fetch a token with the connector's client-credentials or password grant and store a
    connection holding it (and, for the password grant, the password credential).

    Checks run before the provider is called: the connector, config and credentials must
    be the caller's organisation's (404), the grant non-interactive (400
    ``unsupported_grant``), the name free (409). A provider failure is 502
    ``token_exchange_failed`` and stores nothing. Emits ``connection.created``.
    """
    organisation = params.organisation
    connector_pk = parse_uuid(params.connector_id)
    connector = (
        Connector.objects.filter(organisation=organisation, pk=connector_pk).first()
        if connector_pk is not None
        else None
    )
    if connector is None:
        raise not_found("connector")
    scheme = _oauth2_config(connector, params.auth_scheme_config_id)
    config = OAuth2Config.from_settings(scheme.settings)
    if config.grant_type not in NON_INTERACTIVE_GRANTS:
        raise PatchbayError(
            "unsupported_grant",
            "This config uses the authorization-code grant: start it with oauth2/initialise.",
            400,
            [FieldError("authSchemeConfigId", "Not a clientCredentials or password grant.")],
        )
    if config.grant_type == "password":
        password: Credential | None = _password_credential(params)
    elif params.credential_id is not None:
        raise invalid("credential", "Only the password grant takes a credential.")
    else:
        password = None
    client = _grant_client(organisation, config)
    name = params.name or free_name(organisation, connector)
    if Connection.objects.filter(
        organisation=organisation, connector=connector, name=name
    ).exists():
        raise _name_taken(organisation, connector, name)

    try:
        tokens = grant_fetch(config, client, password, config.default_scopes)
    except TokenRequestError as exc:
        raise TokenExchangeFailed(
            message=f"The provider did not issue a token ({exc.reason}).",
            provider_error=exc.provider_error,
        ) from None

    try:
        with transaction.atomic():
            connection = Connection.objects.create(
                organisation=organisation, connector=connector, name=name
            )
            token = Credential.objects.create(
                organisation=organisation,
                name=f"{connector.name[:150]} OAuth 2.0 token",
                type=CredentialType.OAUTH2_TOKEN,
                data=cast(Any, tokens.as_credential_data()),
                errors=[],
            )
            ConnectionCredential.objects.create(
                connection=connection,
                auth_scheme_config=scheme,
                credential=token,
                client_credential=client,
                position=0,
            )
            if password is not None:
                ConnectionCredential.objects.create(
                    connection=connection,
                    auth_scheme_config=scheme,
                    credential=password,
                    position=1,
                )
            event_emit(
                organisation=organisation,
                type="connection.created",
                data={
                    "connectionId": str(connection.pk),
                    "connectorId": str(connector.pk),
                    "status": connection.status,
                    "grant": config.grant_type,
                },
            )
    except IntegrityError as exc:  # a concurrent request took the name
        raise _name_taken(organisation, connector, name) from exc
    return connection


@dataclass(frozen=True)
class PasswordGrantToken:
    """A token fetched at once for a connection body that links an ``oauth2-password``
    credential to an oauth2 config without a token: what to store and link before it."""

    scheme: AuthSchemeConfig
    password: Credential
    client: Credential
    data: dict[str, Any]


def password_grant_token(
    *, organisation: Organisation, scheme: AuthSchemeConfig, password: Credential, field: str
) -> PasswordGrantToken:
    """Fetch a token through ``scheme``'s password grant for ``password``.

    An ``oauth2-password`` credential alone gives an oauth2 config nothing to send: unless
    the config's grant is ``password`` (so the token can be fetched now, and again when it
    expires), the body is refused, 400 ``token_required`` at ``field``. A provider failure
    is 502 ``token_exchange_failed``; nothing is stored either way.
    """
    config = OAuth2Config.from_settings(scheme.settings)
    if config.grant_type != "password":
        raise PatchbayError(
            "token_required",
            "An oauth2-password credential alone gives this oauth2 config no token: link an "
            "oauth2-token credential too, or use a config whose grant is password.",
            400,
            [FieldError(field, "No token for this oauth2 config.")],
        )
    client = _grant_client(organisation, config)
    try:
        tokens = grant_fetch(config, client, password, config.default_scopes)
    except TokenRequestError as exc:
        raise TokenExchangeFailed(
            message=f"The provider did not issue a token ({exc.reason}).",
            provider_error=exc.provider_error,
        ) from None
    return PasswordGrantToken(scheme, password, client, tokens.as_credential_data())
