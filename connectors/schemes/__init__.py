"""Auth scheme configs (SPEC §4 AuthSchemeConfig): one :class:`~core.wire.Input` class of
settings per type, the source of their validation, of their rendering (declared keys,
write-only ones left out) and of their OpenAPI components.

Pure declarations: no database access. A config parses (``connectors.inputs``) to a
:class:`CleanScheme`; the service layer then resolves the credential references it names.
"""

from __future__ import annotations

from typing import Any

from connectors.models import AuthSchemeType
from connectors.schemes.base import (
    MAX_AUTH_SCHEME_CONFIGS,
    TYPED_KEYS,
    CleanScheme,
    CredentialRef,
    GrantClient,
    Settings,
    clean_config_id,
    empty_settings,
)
from connectors.schemes.messages import validation_messages
from connectors.schemes.oauth1 import OAuth1Settings
from connectors.schemes.oauth2 import OAuth2Settings
from connectors.schemes.simple import ApiKeySettings, HmacSettings

SETTINGS: dict[str, type[Settings]] = {
    AuthSchemeType.NONE: empty_settings(AuthSchemeType.NONE, "none"),
    AuthSchemeType.API_KEY: ApiKeySettings,
    AuthSchemeType.BASIC_AUTH: empty_settings(AuthSchemeType.BASIC_AUTH, "basicAuth"),
    AuthSchemeType.OAUTH2: OAuth2Settings,
    AuthSchemeType.OAUTH1: OAuth1Settings,
    AuthSchemeType.HMAC: HmacSettings,
    AuthSchemeType.CERTIFICATE: empty_settings(AuthSchemeType.CERTIFICATE, "certificate"),
}

# Settings a config of these types cannot do without; the others are always `{}`.
REQUIRED_SETTINGS = (
    AuthSchemeType.API_KEY,
    AuthSchemeType.HMAC,
    AuthSchemeType.OAUTH2,
    AuthSchemeType.OAUTH1,
)


def variant(kind: str, base: type, module: str, /, **fields: Any) -> type:
    """The class of the config variant of type ``kind`` (``AuthSchemeConfigApiKey`` ...):
    the input and the output are built alike, each with its own ``fields``."""
    key = TYPED_KEYS[kind]
    namespace = {
        "__module__": module,
        "__doc__": f"An auth scheme config of type `{kind}`: its settings are under `{key}`.",
        **fields,
    }
    return type(f"AuthSchemeConfig{key[0].upper()}{key[1:]}", (base,), namespace)


__all__ = [
    "MAX_AUTH_SCHEME_CONFIGS",
    "REQUIRED_SETTINGS",
    "SETTINGS",
    "TYPED_KEYS",
    "CleanScheme",
    "CredentialRef",
    "GrantClient",
    "clean_config_id",
    "validation_messages",
    "variant",
]
