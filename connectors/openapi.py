"""OpenAPI components of connectors and auth scheme configs (SPEC §4), for the docs only.

``AuthSchemeConfig`` is a ``oneOf`` by ``type``: each variant carries exactly one typed
key named after its type (``apiKey`` for ``api-key`` ...). Write-only secrets
(``grant.*.clientSecret``, ``consumerSecret``) are in the request components only.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from connectors.models import AuthSchemeType
from connectors.oauth2 import GRANT_TYPES
from connectors.schemes import (
    HMAC_ALGORITHMS,
    HMAC_DIGEST_INPUTS,
    HMAC_ENCODINGS,
    OAUTH1_SIGNATURE_METHODS,
    OAUTH1_TRANSMISSIONS,
    TYPED_KEYS,
)
from core.openapi import DocSerializer, EnumField, paginated


class ValidationMessageSerializer(DocSerializer):
    text = serializers.CharField()
    severity = EnumField(("info", "warning", "error"))
    detail = serializers.ListField(child=serializers.CharField())


class NoSettingsSerializer(DocSerializer):
    """`none`, `basicAuth` and `certificate` have no settings: always `{}`."""


# `in` is a Python keyword: these two are built with type().
ApiKeySettingsSerializer = type(
    "ApiKeySettingsSerializer",
    (DocSerializer,),
    {
        "__module__": __name__,
        "name": serializers.CharField(max_length=256, help_text="The parameter's name."),
        "in": EnumField(("header", "query", "cookie"), required=False, default="header"),
    },
)

HmacSettingsSerializer = type(
    "HmacSettingsSerializer",
    (DocSerializer,),
    {
        "__module__": __name__,
        "name": serializers.CharField(max_length=256),
        "in": EnumField(("header", "query"), required=False, default="header"),
        "algorithm": EnumField(HMAC_ALGORITHMS, required=False, default="sha256"),
        "digestInputs": serializers.ListField(
            child=EnumField(HMAC_DIGEST_INPUTS), required=False, default=["body"]
        ),
        "encoding": EnumField(HMAC_ENCODINGS, required=False, default="hex"),
    },
)


class OAuth2ScopeSerializer(DocSerializer):
    name = serializers.CharField(max_length=256)
    description = serializers.CharField(required=False, default="", allow_blank=True)


class OAuth2GrantClientSerializer(DocSerializer):
    """The client of one grant: an `oauth2-client` credential (`credentialId`), or
    `clientId` + `clientSecret`, from which Patchbay creates that credential and fills
    `credentialId` / `organisationId`."""

    credentialId = serializers.CharField(required=False)
    organisationId = serializers.CharField(required=False, allow_null=True)
    clientId = serializers.CharField(required=False)
    clientSecret = serializers.CharField(
        write_only=True, required=False, help_text="Write-only: stored in the credential."
    )


class OAuth2GrantSerializer(DocSerializer):
    type = EnumField(GRANT_TYPES, required=False, default="authorizationCode")
    authorizationCode = OAuth2GrantClientSerializer(required=False)
    clientCredentials = OAuth2GrantClientSerializer(required=False)
    password = OAuth2GrantClientSerializer(required=False)


class OAuth2SettingsSerializer(DocSerializer):
    authorizeUrl = serializers.CharField(
        required=False, allow_blank=True, help_text="Required for the authorizationCode grant."
    )
    tokenUrl = serializers.CharField()
    scopes = OAuth2ScopeSerializer(many=True, required=False)
    defaultScopes = serializers.ListField(child=serializers.CharField(), required=False)
    additionalAuthorizeParams = serializers.CharField(
        required=False, allow_blank=True, help_text="A URL-encoded query string."
    )
    additionalTokenParams = serializers.CharField(
        required=False, allow_blank=True, help_text="A URL-encoded query string."
    )
    mtlsEnabled = serializers.BooleanField(required=False, default=False)
    mtlsCredentialId = serializers.CharField(required=False, allow_null=True)
    pkce = serializers.BooleanField(required=False, default=True)
    issuer = serializers.CharField(required=False, allow_blank=True)
    issParameterSupported = serializers.BooleanField(
        required=False, default=False, help_text="RFC 9207: when true `iss` is required."
    )
    scopeSeparator = serializers.CharField(required=False, default=" ")
    tokenAuthMethod = EnumField(
        ("client_secret_basic", "client_secret_post"),
        required=False,
        default="client_secret_basic",
    )
    refreshMarginSeconds = serializers.IntegerField(
        required=False, default=300, min_value=0, max_value=86_400
    )
    revokeUrl = serializers.CharField(required=False, allow_blank=True)
    grant = OAuth2GrantSerializer(required=False)


class OAuth1ParamConfigSerializer(DocSerializer):
    parameterName = serializers.CharField()
    targetName = serializers.CharField(required=False, allow_blank=True)
    location = serializers.CharField(required=False, help_text="`LOCATION_…`")
    usages = serializers.CharField(required=False, help_text="`USAGE_…`")
    required = serializers.BooleanField(required=False)  # type: ignore[assignment]
    modifiable = serializers.BooleanField(required=False)


class OAuth1EndpointSerializer(DocSerializer):
    url = serializers.CharField()
    additionalParamConfigs = OAuth1ParamConfigSerializer(many=True, required=False)
    parameterTransmission = EnumField(
        OAUTH1_TRANSMISSIONS, required=False, default=OAUTH1_TRANSMISSIONS[0]
    )


class OAuth1SettingsSerializer(DocSerializer):
    consumerKey = serializers.CharField()
    consumerSecret = serializers.CharField(write_only=True, required=False, help_text="Write-only.")
    tempCredentialEndpoint = OAuth1EndpointSerializer()
    resourceOwnerAuthorizationEndpoint = OAuth1EndpointSerializer()
    tokenEndpoint = OAuth1EndpointSerializer()
    signatureMethod = EnumField(OAUTH1_SIGNATURE_METHODS, required=False, default="HMAC-SHA1")
    tokenAuth = serializers.BooleanField(required=False, default=False)
    credentialId = serializers.CharField(required=False, allow_null=True)


_SETTINGS: dict[str, type[serializers.Serializer]] = {
    AuthSchemeType.NONE: NoSettingsSerializer,
    AuthSchemeType.API_KEY: ApiKeySettingsSerializer,
    AuthSchemeType.BASIC_AUTH: NoSettingsSerializer,
    AuthSchemeType.OAUTH2: OAuth2SettingsSerializer,
    AuthSchemeType.OAUTH1: OAuth1SettingsSerializer,
    AuthSchemeType.HMAC: HmacSettingsSerializer,
    AuthSchemeType.CERTIFICATE: NoSettingsSerializer,
}


# Settings a config of these types cannot do without; the others are always `{}`.
_REQUIRED_SETTINGS = (
    AuthSchemeType.API_KEY,
    AuthSchemeType.HMAC,
    AuthSchemeType.OAUTH2,
    AuthSchemeType.OAUTH1,
)


def _variant(type_: str) -> type[serializers.Serializer]:
    key = TYPED_KEYS[type_]
    camel = key[0].upper() + key[1:]
    fields: dict[str, object] = {
        "__module__": __name__,
        "__doc__": f"An auth scheme config of type `{type_}`: its settings are under `{key}`.",
        "id": serializers.CharField(
            required=False,
            max_length=100,
            help_text="Chosen by the client, unique within the connector (generated when "
            "omitted in `authSchemeConfigs`; the path's in PUT).",
        ),
        "type": EnumField((type_,)),
        "description": serializers.CharField(required=False, max_length=1000, allow_blank=True),
        "validationMessages": ValidationMessageSerializer(
            many=True, read_only=True, help_text="Computed by the server; ignored on input."
        ),
        # On input the typed key may be omitted (`{}`); on output it is always present.
        key: _SETTINGS[type_](required=type_ in _REQUIRED_SETTINGS),
    }
    return type(f"AuthSchemeConfig{camel}", (DocSerializer,), fields)


AUTH_SCHEME_CONFIG_VARIANTS: dict[str, Any] = {str(type_): _variant(type_) for type_ in TYPED_KEYS}


def auth_scheme_config(**kwargs: Any) -> PolymorphicProxySerializer:
    """The ``AuthSchemeConfig`` component: ``oneOf`` its variants, discriminated by ``type``."""
    return PolymorphicProxySerializer(
        component_name="AuthSchemeConfig",
        serializers=AUTH_SCHEME_CONFIG_VARIANTS,
        resource_type_field_name="type",
        **kwargs,
    )


class ConnectorSerializer(DocSerializer):
    """A connector with its auth scheme configs (SPEC §4). The body of PATCH replaces
    `authSchemeConfigs` as a whole when given."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=200, help_text="Unique in the organisation.")
    baseUrl = serializers.CharField(required=False, default="", allow_blank=True)
    authSchemeConfigs = serializers.ListField(child=auth_scheme_config(), required=False)
    createdAt = serializers.DateTimeField(read_only=True)
    updatedAt = serializers.DateTimeField(read_only=True)


ConnectorPageSerializer = paginated("ConnectorPage", ConnectorSerializer())
