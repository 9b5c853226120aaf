"""The settings of ``oauth2`` configs (SPEC §4): endpoints, scopes, PKCE and the grant
whose client is an ``oauth2-client`` credential, named (``credentialId``) or given as
``clientId`` + ``clientSecret`` for the service to store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from connectors.oauth2 import GRANT_TYPES, OAUTH2_DEFAULTS
from connectors.schemes.base import (
    BlankText,
    CleanScheme,
    CredentialRef,
    GrantClient,
    IdRef,
    ProviderUrl,
    Scopes,
    Settings,
    defaulted,
)
from core import validation as v
from core.wire import NON_FIELD, Bool, Choice, Input, Int, ListOf, Nested, Secret, Text, cleaned

# tls_client_auth (RFC 8705 §2.1): the client is authenticated by its mTLS certificate, so
# only `client_id` is sent, never the secret.
TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "tls_client_auth")
_QUERY_HELP = "A URL-encoded query string."


class ScopeName(Text):
    """One scope token. A missing name is reported as the scope list's first item
    (``scopes[0].name[0]``), as the importer always did."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=256, required=True, **kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        return False, None if data is empty else data

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: v.clean_scopes([data], "", p))[0]


class QueryString(Text):
    """A URL-encoded query string (``a=1&b=2``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=v.MAX_QUERY_BYTES, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: v.clean_query_string(data, "", p))


class ScopeSeparator(Text):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=1, **kwargs)

    def schema_facts(self) -> dict[str, Any]:
        return {"pattern": r"^([^\w\x00-\x1f\x7f]|_)$"}  # not str.isalnum, no control

    def to_internal_value(self, data: Any) -> Any:
        text = super().to_internal_value(data)
        if len(text) != 1 or text.isalnum():
            raise serializers.ValidationError(
                "Must be one character that is not a letter or digit."
            )
        return text


class OAuth2Scope(Input):
    name = ScopeName()
    description = BlankText(max_length=1000)


class OAuth2GrantClient(Input):
    """The client of one grant: an `oauth2-client` credential (`credentialId`), or
    `clientId` + `clientSecret`, from which Patchbay creates that credential and fills
    `credentialId` / `organisationId`."""

    credentialId = IdRef(required=False)
    organisationId = IdRef(required=False, allow_null=True)
    clientId = Text(required=False)
    clientSecret = Secret(
        max_length=4096, required=False, help_text="Write-only: stored in the credential."
    )

    def check(self, data: Mapping[str, Any], values: dict[str, Any]) -> Mapping[str, Any]:
        credential_id, client_id = values.get("credentialId"), values.get("clientId")
        client_secret = values.get("clientSecret")
        if credential_id and client_secret is not None:
            return {
                "clientSecret": [
                    "Give either credentialId or clientId with clientSecret, not both."
                ]
            }
        incomplete = not credential_id and not (client_id and client_secret)
        if incomplete and (client_id is not None or client_secret is not None):
            return {NON_FIELD: ["Give credentialId, or both clientId and clientSecret."]}
        return {}


class OAuth2Grant(Input):
    type = Choice(GRANT_TYPES, required=False, default="authorizationCode", null_as=None)
    authorizationCode = Nested(OAuth2GrantClient, required=False)
    clientCredentials = Nested(OAuth2GrantClient, required=False)
    password = Nested(OAuth2GrantClient, required=False)


def _d(key: str) -> dict[str, Any]:
    return defaulted(OAUTH2_DEFAULTS[key])


class OAuth2Settings(Settings):
    authorizeUrl = ProviderUrl(
        help_text="Required for the authorizationCode grant.", **_d("authorizeUrl")
    )
    tokenUrl = ProviderUrl(blank=False, required=True)
    scopes = ListOf(
        Nested(OAuth2Scope),
        max_items=100,
        message="Must be a list of {name, description} objects.",
        **_d("scopes"),
    )
    defaultScopes = Scopes(**_d("defaultScopes"))
    additionalAuthorizeParams = QueryString(
        help_text=_QUERY_HELP, **_d("additionalAuthorizeParams")
    )
    additionalTokenParams = QueryString(help_text=_QUERY_HELP, **_d("additionalTokenParams"))
    mtlsEnabled = Bool(
        help_text="RFC 8705: present the `certificate` credential `mtlsCredentialId` to the "
        "token and revocation endpoints.",
        **_d("mtlsEnabled"),
    )
    mtlsCredentialId = IdRef(
        allow_null=True,
        help_text="A `certificate` credential of the organisation.",
        **_d("mtlsCredentialId"),
    )
    pkce = Bool(**_d("pkce"))
    issuer = ProviderUrl(**_d("issuer"))
    issParameterSupported = Bool(
        help_text="RFC 9207: when true `iss` is required.", **_d("issParameterSupported")
    )
    scopeSeparator = ScopeSeparator(**_d("scopeSeparator"))
    tokenAuthMethod = Choice(
        TOKEN_AUTH_METHODS,
        help_text="`tls_client_auth` (RFC 8705) sends `client_id` without a secret and needs "
        "`mtlsEnabled`.",
        **_d("tokenAuthMethod"),
    )
    refreshMarginSeconds = Int(minimum=0, maximum=86_400, **_d("refreshMarginSeconds"))
    revokeUrl = ProviderUrl(**_d("revokeUrl"))
    grant = Nested(OAuth2Grant, **_d("grant"))

    def to_internal_value(self, data: Any) -> Any:
        grant = data.get("grant") if isinstance(data, Mapping) else None
        grant_type = "authorizationCode"
        if isinstance(grant, dict) and grant.get("type") is not None:
            grant_type = str(grant.get("type"))
        self.fields["authorizeUrl"].blank = grant_type != "authorizationCode"  # type: ignore[attr-defined]
        return super().to_internal_value(data)

    def check(self, data: Mapping[str, Any], values: dict[str, Any]) -> Mapping[str, Any]:
        if values.get("issParameterSupported") and not values.get("issuer"):
            return {"issuer": ["Is required when issParameterSupported is true (RFC 9207)."]}
        if values.get("tokenAuthMethod") == "tls_client_auth" and not values.get("mtlsEnabled"):
            return {"tokenAuthMethod": ["tls_client_auth needs mtlsEnabled (RFC 8705)."]}
        return {}

    @classmethod
    def extract(cls, values: dict[str, Any], path: str, out: CleanScheme) -> None:
        settings = dict(values)
        if settings["mtlsCredentialId"]:
            out.credential_refs.append(
                CredentialRef(
                    f"{path}.mtlsCredentialId",
                    settings["mtlsCredentialId"],
                    required_type="certificate",
                )
            )
        grant = values["grant"]
        result: dict[str, Any] = {"type": grant.get("type", "authorizationCode")}
        for name in GRANT_TYPES:
            item = grant.get(name)
            if not item:
                continue
            item_path = f"{path}.grant.{name}"
            credential_id, client_id = item.get("credentialId"), item.get("clientId")
            if credential_id:
                organisation_id = item.get("organisationId")
                out.credential_refs.append(
                    CredentialRef(
                        f"{item_path}.credentialId",
                        credential_id,
                        organisation_id=organisation_id,
                        required_type="oauth2-client",
                        grant=name,
                        client_id=client_id,
                    )
                )
                result[name] = {
                    "credentialId": credential_id,
                    "organisationId": organisation_id,
                    "clientId": client_id,
                }
            elif client_id and item.get("clientSecret"):
                out.grant_clients.append(
                    GrantClient(
                        name, client_id, item["clientSecret"], item_path, item.get("organisationId")
                    )
                )
                result[name] = {"clientId": client_id}
        settings["grant"] = result
        out.settings = settings


assert set(OAuth2Settings._declared_fields) == set(OAUTH2_DEFAULTS), "one list of oauth2 settings"
