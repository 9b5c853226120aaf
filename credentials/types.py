"""The credential types of SPEC §4, declared once.

Every other module (validation, representation, admin) reads this registry
instead of hard-coding field lists, so "which fields are secret" has exactly
one answer. ``Credential.data`` stores the *inner* object of the type (for
``oauth2-client`` that is ``{"clientId": ..., "clientSecret": ...}``); the API
wraps it under the type's data key (``{"oauth2Client": {...}}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """How a field's value is validated."""

    TEXT = "text"  # a single-line string
    PEM = "pem"  # a multi-line string (newlines and tabs allowed)
    CERTIFICATES = "certificates"  # PEM X.509 certificates (a chain, or CA roots)
    PRIVATE_KEY = "private_key"  # an unencrypted PEM private key
    BASE64 = "base64"  # standard base64 with padding
    BOOL = "bool"
    SCOPES = "scopes"  # a list of scope tokens (no whitespace)
    DATETIME = "datetime"  # ISO 8601 with a timezone, stored normalised
    URL = "url"  # an absolute provider URL (https, or http on loopback when allowed)
    QUERY = "query"  # a URL-encoded query string, at most 4 KiB
    STRING_MAP = "string_map"  # an object of short string keys to string values
    ID = "id"  # an id of another object (stored as a string)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = False
    secret: bool = False
    max_length: int = 512


@dataclass(frozen=True)
class CredentialTypeSpec:
    type: str
    data_key: str
    fields: tuple[FieldSpec, ...] = ()
    # `default`: a free-form map of keys to base64 values; `redactFields` names the secret keys.
    free_form: bool = False
    description: str = ""
    field_map: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)
    # Computed once: every rendered credential reads it (hot in connection answers).
    secret_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_map", {f.name: f for f in self.fields})
        object.__setattr__(self, "secret_fields", tuple(f.name for f in self.fields if f.secret))

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def base64_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.kind is Kind.BASE64)


# Lengths: tokens issued by real providers (JWTs with many claims) reach several
# KiB; PEM bundles more. Request bodies are capped at 64 KiB anyway.
_TOKEN = 16_384
_PEM = 32_768

CREDENTIAL_TYPES: dict[str, CredentialTypeSpec] = {
    spec.type: spec
    for spec in (
        CredentialTypeSpec("none", "none", description="No secret material."),
        CredentialTypeSpec(
            "string",
            "string",
            (FieldSpec("value", required=True, secret=True, max_length=_TOKEN),),
        ),
        CredentialTypeSpec(
            "binary",
            "binary",
            (FieldSpec("valueBase64", Kind.BASE64, required=True, secret=True, max_length=49_152),),
        ),
        CredentialTypeSpec(
            "basic-auth",
            "basicAuth",
            (
                FieldSpec("username", required=True),
                FieldSpec("password", required=True, secret=True, max_length=1024),
            ),
        ),
        CredentialTypeSpec(
            "oauth2-client",
            "oauth2Client",
            (
                FieldSpec("clientId", required=True),
                FieldSpec("clientSecret", required=True, secret=True, max_length=4096),
                FieldSpec("tokenUrl", Kind.URL, max_length=2048),
                FieldSpec("scopes", Kind.SCOPES),
                FieldSpec("additionalParams", Kind.QUERY, max_length=4096),
                FieldSpec("mTLSEnabled", Kind.BOOL),
                FieldSpec("mTLSCredentialId", Kind.ID, max_length=64),
            ),
        ),
        CredentialTypeSpec(
            "oauth2-token",
            "oauth2Token",
            (
                FieldSpec("scopes", Kind.SCOPES),
                FieldSpec("accessToken", required=True, secret=True, max_length=_TOKEN),
                FieldSpec("tokenType", max_length=64),
                FieldSpec("expiresAt", Kind.DATETIME, max_length=64),
                FieldSpec("refreshToken", secret=True, max_length=_TOKEN),
            ),
        ),
        CredentialTypeSpec(
            "oauth2-password",
            "oauth2Password",
            (
                FieldSpec("username", required=True),
                FieldSpec("password", required=True, secret=True, max_length=1024),
            ),
        ),
        CredentialTypeSpec(
            "certificate",
            "certificate",
            (
                FieldSpec("certificate", Kind.CERTIFICATES, required=True, max_length=_PEM),
                FieldSpec("key", Kind.PRIVATE_KEY, required=True, secret=True, max_length=_PEM),
                FieldSpec("ca", Kind.CERTIFICATES, max_length=_PEM),
            ),
        ),
        CredentialTypeSpec(
            "oauth1-token",
            "oauth1Token",
            (
                FieldSpec("token", required=True, secret=True, max_length=4096),
                FieldSpec("tokenSecret", required=True, secret=True, max_length=4096),
                FieldSpec("additionalParams", Kind.STRING_MAP, max_length=4096),
            ),
        ),
        CredentialTypeSpec(
            "default",
            "default",
            free_form=True,
            description="A map of string keys to base64 values; keys in redactFields are secret.",
        ),
    )
}

# Older type names of seed 003, accepted on input only.
TYPE_ALIASES: dict[str, str] = {
    "Default": "default",
    "Raw": "string",
    "BasicAuth": "basic-auth",
    "OAuth2Refresh": "oauth2-token",
}

# Input-only types that must be *exchanged* with a provider (an authorization
# code, an OAuth 1.0a verifier) rather than stored. The credentials API does
# not perform exchanges: their state belongs to an authorisation request made
# by the OAuth flow, so it answers 400 `use_oauth_flow` and points there.
EXCHANGED_TYPES: dict[str, str] = {
    "oauth2-code": (
        "oauth2-code credentials are exchanged, not stored: start the flow with "
        "POST /api/v2/o/{organisation_id}/connectors/{connector_id}/oauth2/initialise "
        "and finish it at the OAuth 2.0 callback, which stores the oauth2-token credential."
    ),
    "oauth1": (
        "oauth1 credentials are exchanged, not stored: use the OAuth 1.0a flow, "
        "which stores the resulting oauth1-token credential."
    ),
}

# The Base64 values of `default` credentials and the keys naming them.
DEFAULT_MAX_KEYS = 100
DEFAULT_MAX_KEY_LENGTH = 200
DEFAULT_MAX_VALUE_LENGTH = 32_768


def resolve_type(name: str) -> str | None:
    """The canonical type for ``name`` (aliases resolved), or None if unknown."""
    if name in CREDENTIAL_TYPES:
        return name
    return TYPE_ALIASES.get(name)


def spec_for(type_name: str) -> CredentialTypeSpec | None:
    return CREDENTIAL_TYPES.get(type_name)


def secret_keys(type_name: str, redact_fields: list[str] | None) -> frozenset[str]:
    """The keys of a stored ``data`` object that must never be shown."""
    spec = CREDENTIAL_TYPES.get(type_name)
    if spec is None:
        # Unknown types show nothing rather than risk showing a secret.
        return frozenset({"*"})
    if spec.free_form:
        return frozenset(redact_fields or [])
    return frozenset(spec.secret_fields)


def public_data(type_name: str, data: object, redact_fields: list[str] | None) -> dict[str, object]:
    """The stored inner ``data`` object with every secret key removed (never masked)."""
    if not isinstance(data, dict):
        return {}
    hidden = secret_keys(type_name, redact_fields)
    if "*" in hidden:
        return {}
    spec = CREDENTIAL_TYPES[type_name]
    if spec.free_form:
        return {k: v for k, v in data.items() if k not in hidden}
    # Typed data: only declared, non-secret fields (an unexpected stored key is not shown).
    return {k: v for k, v in data.items() if k in spec.field_map and k not in hidden}


def data_key_for(type_name: str) -> str:
    spec = CREDENTIAL_TYPES.get(type_name)
    if spec is not None:
        return spec.data_key
    head, *rest = type_name.split("-")
    return head + "".join(part.capitalize() for part in rest)
