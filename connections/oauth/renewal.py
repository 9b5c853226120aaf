"""How a connection's OAuth 2.0 token is renewed (SPEC §5.3): which config and client
credential it was issued under, and the request that renews it — the refresh token first;
for client-credentials and password grants, the grant again. No locks and no records here:
:mod:`connections.oauth.refresh` decides when, holds the lock and records the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connections.models import ConnectionCredential
from connections.oauth import params as p
from connections.oauth.mtls import mtls_certificate
from connections.oauth.tokens import (
    TokenClient,
    TokenRequestError,
    TokenSet,
    token_request,
)
from connectors.oauth2 import OAuth2Config
from core.text import parse_uuid
from credentials.models import Credential, CredentialType

NON_INTERACTIVE_GRANTS = ("clientCredentials", "password")


def config_of(link: ConnectionCredential) -> OAuth2Config:
    return OAuth2Config.from_settings(link.auth_scheme_config.settings)


# --- Which client, and the request ----------------------------------------------


@dataclass(frozen=True)
class TokenSource:
    """Everything renewing one token credential needs. ``repr`` hides nothing secret:
    the credentials hold their data encrypted until read."""

    config: OAuth2Config
    client: Credential | None
    password: Credential | None


def client_credential_for(link: ConnectionCredential, config: OAuth2Config) -> Credential | None:
    """The oauth2-client credential the token was issued to: the link's, else the grant's.

    Only a credential of the connection's own organisation is ever used.
    """
    organisation_id = link.credential.organisation_id
    if (
        link.client_credential is not None
        and link.client_credential.organisation_id == organisation_id
    ):
        return link.client_credential
    grant = config.grants.get(config.grant_type) or config.grants.get("authorizationCode")
    credential_pk = parse_uuid(grant.credential_id) if grant is not None else None
    if credential_pk is None:  # none, or a malformed id in stored settings
        return None
    return Credential.objects.filter(
        organisation_id=organisation_id, pk=credential_pk, type=CredentialType.OAUTH2_CLIENT
    ).first()


def token_source(link: ConnectionCredential) -> TokenSource:
    config = config_of(link)
    password = None
    if config.grant_type == "password":
        password_link = (
            ConnectionCredential.objects.filter(
                connection_id=link.connection_id,
                credential__type=CredentialType.OAUTH2_PASSWORD,
                credential__organisation_id=link.credential.organisation_id,
            )
            .select_related("credential")
            .order_by("position", "id")
            .first()
        )
        password = password_link.credential if password_link is not None else None
    return TokenSource(config=config, client=client_credential_for(link, config), password=password)


def token_client(config: OAuth2Config, client: Credential) -> TokenClient:
    """How to authenticate as ``client`` at the config's token endpoint (over mTLS with the
    config's certificate credential when ``mtlsEnabled``; TokenRequestError without it)."""
    data = client.data if isinstance(client.data, dict) else {}
    secret = data.get("clientSecret")
    token_url = config.token_url or data.get("tokenUrl") or ""
    return TokenClient(
        token_url=token_url if isinstance(token_url, str) else "",
        client_id=str(data.get("clientId") or ""),
        client_secret=secret if isinstance(secret, str) else "",
        token_auth_method=config.token_auth_method,
        additional_params=p.parse_query(
            config.additional_token_params, "authSchemeConfig.additionalTokenParams"
        ),
        scope_separator=config.scope_separator,
        client_certificate=mtls_certificate(config, client.organisation_id),
    )


def grant_fetch(
    config: OAuth2Config, client: Credential, password: Credential | None, scopes: list[str]
) -> TokenSet:
    """Fetch a token with the config's client-credentials or password grant (no browser)."""
    grant: dict[str, str]
    if config.grant_type == "clientCredentials":
        grant = {"grant_type": "client_credentials"}
    elif config.grant_type == "password":
        data = password.data if password is not None and isinstance(password.data, dict) else {}
        username, secret = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(secret, str):
            raise TokenRequestError("no_password_credential", "invalid_grant")
        grant = {"grant_type": "password", "username": username, "password": secret}
    else:  # pragma: no cover - callers check the grant type
        raise TokenRequestError("unsupported_grant")
    if scopes:
        grant["scope"] = config.scope_separator.join(scopes)
    return token_request(token_client(config, client), grant, requested_scopes=scopes)


def renew(source: TokenSource, data: dict[str, Any]) -> TokenSet:
    """New tokens for a credential's ``data``: the refresh token first; for client-credentials
    and password grants, a fresh fetch when there is none or it was refused."""
    config = source.config
    if source.client is None:
        raise TokenRequestError("no_client_credential", "invalid_client")
    scopes = [s for s in data.get("scopes") or [] if isinstance(s, str)]
    refresh = data.get("refreshToken")
    non_interactive = config.grant_type in NON_INTERACTIVE_GRANTS
    if isinstance(refresh, str) and refresh:
        try:
            return token_request(
                token_client(config, source.client),
                {"grant_type": "refresh_token", "refresh_token": refresh},
                requested_scopes=scopes,
            )
        except TokenRequestError as exc:
            if not (exc.refused and non_interactive):
                raise
    if non_interactive:
        return grant_fetch(config, source.client, source.password, scopes or config.default_scopes)
    raise TokenRequestError("no_refresh_token", "invalid_grant")


def merged_token_data(old: dict[str, Any], tokens: TokenSet) -> dict[str, Any]:
    """The credential data after a refresh: a missing refresh token keeps the old one."""
    data = tokens.as_credential_data()
    if not tokens.refresh_token and old.get("refreshToken"):
        data["refreshToken"] = old["refreshToken"]
    return data
