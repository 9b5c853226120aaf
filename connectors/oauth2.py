"""The typed view of an ``oauth2`` auth scheme config's stored settings.

``AuthSchemeConfig.settings`` for type ``oauth2`` holds the API's camelCase
object with defaults filled in and ``clientSecret`` removed (it lives in the
``oauth2-client`` credential named by the grant). The flow code reads configs
only through :class:`OAuth2Config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GRANT_TYPES = ("authorizationCode", "clientCredentials", "password")

OAUTH2_DEFAULTS: dict[str, Any] = {
    "authorizeUrl": "",
    "tokenUrl": "",
    "scopes": [],
    "defaultScopes": [],
    "additionalAuthorizeParams": "",
    "additionalTokenParams": "",
    "mtlsEnabled": False,
    "mtlsCredentialId": None,
    "pkce": True,
    "issuer": "",
    # RFC 9207 `authorization_response_iss_parameter_supported`: when true a
    # callback without `iss` is refused.
    "issParameterSupported": False,
    "scopeSeparator": " ",
    "tokenAuthMethod": "client_secret_basic",
    "refreshMarginSeconds": 300,
    "revokeUrl": "",
    "grant": {"type": "authorizationCode"},
}


@dataclass(frozen=True)
class GrantClient:
    credential_id: str | None
    organisation_id: str | None
    client_id: str | None


@dataclass(frozen=True)
class OAuth2Config:
    authorize_url: str
    token_url: str
    default_scopes: list[str]
    additional_authorize_params: str
    additional_token_params: str
    pkce: bool
    issuer: str
    iss_parameter_supported: bool
    scope_separator: str
    token_auth_method: str
    refresh_margin_seconds: int
    revoke_url: str
    grant_type: str
    grants: dict[str, GrantClient] = field(default_factory=dict)
    # RFC 8705: the `certificate` credential presented at the token and revocation endpoints.
    mtls_enabled: bool = False
    mtls_credential_id: str | None = None

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> OAuth2Config:
        merged = {**OAUTH2_DEFAULTS, **(settings or {})}
        grant = merged.get("grant") or {}
        grants = {
            name: GrantClient(
                credential_id=(grant.get(name) or {}).get("credentialId"),
                organisation_id=(grant.get(name) or {}).get("organisationId"),
                client_id=(grant.get(name) or {}).get("clientId"),
            )
            for name in GRANT_TYPES
            if grant.get(name)
        }
        return cls(
            authorize_url=merged["authorizeUrl"],
            token_url=merged["tokenUrl"],
            default_scopes=list(merged["defaultScopes"] or []),
            additional_authorize_params=merged["additionalAuthorizeParams"] or "",
            additional_token_params=merged["additionalTokenParams"] or "",
            pkce=bool(merged["pkce"]),
            issuer=merged["issuer"] or "",
            iss_parameter_supported=bool(merged["issParameterSupported"]),
            scope_separator=merged["scopeSeparator"] or " ",
            token_auth_method=merged["tokenAuthMethod"],
            refresh_margin_seconds=int(merged["refreshMarginSeconds"]),
            revoke_url=merged["revokeUrl"] or "",
            grant_type=grant.get("type") or "authorizationCode",
            grants=grants,
            mtls_enabled=bool(merged["mtlsEnabled"]),
            mtls_credential_id=merged["mtlsCredentialId"] or None,
        )
