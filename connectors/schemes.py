"""Validation of auth scheme configs (SPEC §4 AuthSchemeConfig), one function per type.

Pure functions: no database access. :func:`parse_auth_scheme_config` turns an
untrusted API object into a :class:`CleanScheme` whose ``settings`` is the
camelCase typed object with defaults filled in and write-only secrets removed;
the service layer then resolves the credential references it names.
:func:`validation_messages` computes the advisory messages shown on output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.models import AuthSchemeType
from connectors.oauth2 import GRANT_TYPES, OAUTH2_DEFAULTS
from core.text import has_control_characters
from core.validation import (
    Problems,
    check_object,
    clean_bool,
    clean_choice,
    clean_int,
    clean_query_string,
    clean_scopes,
    clean_string_list,
    clean_text,
    clean_url,
    join,
)

TYPED_KEYS: dict[str, str] = {
    AuthSchemeType.NONE: "none",
    AuthSchemeType.API_KEY: "apiKey",
    AuthSchemeType.BASIC_AUTH: "basicAuth",
    AuthSchemeType.OAUTH2: "oauth2",
    AuthSchemeType.OAUTH1: "oauth1",
    AuthSchemeType.HMAC: "hmac",
    AuthSchemeType.CERTIFICATE: "certificate",
}

CONFIG_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
# RFC 9110 token: what a header, query or cookie parameter name may safely be.
PARAM_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")
ENUM_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
ID_MAX = 64

# Seed 004 nests id/description/validationMessages inside the typed object;
# SPEC puts them at the top level. Both are accepted on input.
_SEED_NESTED = ("id", "description", "validationMessages")

OAUTH1_SIGNATURE_METHODS = ("HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1", "PLAINTEXT")
# RFC 5849 §3.5: header, form body or query. Seed 004 shows only the first name.
OAUTH1_TRANSMISSIONS = (
    "AUTH_STYLE_AUTHORIZATION_HEADER",
    "AUTH_STYLE_FORM",
    "AUTH_STYLE_QUERY",
)
HMAC_ALGORITHMS = ("sha1", "sha256", "sha512")
HMAC_DIGEST_INPUTS = ("body", "url", "method", "timestamp")
HMAC_ENCODINGS = ("hex", "base64", "base64url")


@dataclass(frozen=True)
class GrantClient:
    """An oauth2 grant written with ``clientId`` + ``clientSecret`` and no ``credentialId``:
    the service stores them in a new ``oauth2-client`` credential."""

    grant: str
    client_id: str
    client_secret: str = field(repr=False)
    path: str
    organisation_id: str | None = None


@dataclass(frozen=True)
class CredentialRef:
    """A credential a config names; the service checks it exists in the organisation."""

    path: str
    credential_id: str
    organisation_id: str | None = None
    required_type: str | None = None
    grant: str | None = None
    client_id: str | None = None


@dataclass
class CleanScheme:
    config_id: str | None
    type: str
    description: str
    settings: dict[str, Any]
    # Write-only values for AuthSchemeConfig.secrets; None means "none given"
    # (a replace keeps the stored ones).
    secrets: dict[str, Any] | None = None
    grant_clients: list[GrantClient] = field(default_factory=list)
    credential_refs: list[CredentialRef] = field(default_factory=list)


def clean_config_id(value: Any, path: str, problems: Problems) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not CONFIG_ID_RE.match(value):
        problems.add(
            path,
            "Must be 1-100 characters: letters, digits, '_', '.', ':' or '-', "
            "starting with a letter or digit.",
        )
        return None
    return value


def clean_id_ref(value: Any, path: str, problems: Problems) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > ID_MAX or has_control_characters(value):
        problems.add(path, "Must be an id string.")
        return None
    return value


def parse_auth_scheme_config(raw: Any, *, path: str = "") -> CleanScheme:
    """Validate one AuthSchemeConfig object; raise a 400 ``PatchbayError`` listing every problem."""
    problems = Problems()
    allowed = {"id", "type", "description", "validationMessages", *TYPED_KEYS.values()}
    body = check_object(raw, path, problems, allowed=allowed)
    problems.raise_if_any()
    assert body is not None
    type_ = clean_choice(
        body.get("type"), join(path, "type"), problems, TYPED_KEYS.keys(), required=True
    )
    problems.raise_if_any()
    assert type_ is not None
    typed_key = TYPED_KEYS[type_]
    for other in TYPED_KEYS.values():
        if other != typed_key and body.get(other) is not None:
            problems.add(join(path, other), f"Only '{typed_key}' may be set for type '{type_}'.")
    typed_path = join(path, typed_key)
    typed_raw = body.get(typed_key)
    typed = {} if typed_raw is None else check_object(typed_raw, typed_path, problems)
    problems.raise_if_any()
    assert typed is not None

    # Seed-004 nesting: the typed object may carry id and description too.
    config_id_raw = body.get("id", typed.get("id"))
    if "id" in body and "id" in typed and body["id"] != typed["id"]:
        problems.add(join(typed_path, "id"), "Must equal the config's id.")
    config_id = clean_config_id(config_id_raw, join(path, "id"), problems)
    description = clean_text(
        body.get("description", typed.get("description")) or "",
        join(path, "description"),
        problems,
        max_length=1000,
    )
    fields = {k: v for k, v in typed.items() if k not in _SEED_NESTED}
    scheme = CleanScheme(
        config_id=config_id, type=type_, description=description or "", settings={}
    )
    _PARSERS[type_](fields, typed_path, problems, scheme)
    problems.raise_if_any()
    return scheme


# --- per type ---------------------------------------------------------------------


def _parse_empty(fields: dict[str, Any], path: str, problems: Problems, out: CleanScheme) -> None:
    for key in fields:
        problems.add(join(path, key), f"Type '{out.type}' has no settings.")
    out.settings = {}


def _parse_api_key(fields: dict[str, Any], path: str, problems: Problems, out: CleanScheme) -> None:
    check_object(fields, path, problems, allowed={"name", "in"})
    name = _param_name(fields.get("name"), join(path, "name"), problems)
    where = clean_choice(fields.get("in", "header"), join(path, "in"), problems, _API_KEY_IN)
    out.settings = {"name": name, "in": where}


_API_KEY_IN = ("header", "query", "cookie")


def _param_name(value: Any, path: str, problems: Problems) -> str | None:
    text = clean_text(value, path, problems, max_length=256, required=True)
    if text is not None and not PARAM_NAME_RE.match(text):
        problems.add(path, "Must be a valid header or parameter name (no spaces or separators).")
        return None
    return text


def _parse_hmac(fields: dict[str, Any], path: str, problems: Problems, out: CleanScheme) -> None:
    check_object(
        fields, path, problems, allowed={"name", "in", "algorithm", "digestInputs", "encoding"}
    )
    name = _param_name(fields.get("name"), join(path, "name"), problems)
    where = clean_choice(
        fields.get("in", "header"), join(path, "in"), problems, ("header", "query")
    )
    algorithm = clean_choice(
        fields.get("algorithm", "sha256"), join(path, "algorithm"), problems, HMAC_ALGORITHMS
    )
    inputs_path = join(path, "digestInputs")
    inputs = clean_string_list(
        fields.get("digestInputs", ["body"]), inputs_path, problems, choices=HMAC_DIGEST_INPUTS
    )
    if inputs is not None and not inputs:
        problems.add(inputs_path, "Must name at least one input.")
    elif inputs is not None and len(set(inputs)) != len(inputs):
        problems.add(inputs_path, "Must not repeat an input.")
    encoding = clean_choice(
        fields.get("encoding", "hex"), join(path, "encoding"), problems, HMAC_ENCODINGS
    )
    out.settings = {
        "name": name,
        "in": where,
        "algorithm": algorithm,
        "digestInputs": inputs,
        "encoding": encoding,
    }


def _parse_oauth2(fields: dict[str, Any], path: str, problems: Problems, out: CleanScheme) -> None:
    check_object(fields, path, problems, allowed=OAUTH2_DEFAULTS.keys())
    s: dict[str, Any] = {**OAUTH2_DEFAULTS}

    def get(key: str) -> Any:
        value = fields.get(key)
        return OAUTH2_DEFAULTS[key] if value is None else value

    grant_raw = fields.get("grant")
    grant_type = "authorizationCode"
    if isinstance(grant_raw, dict) and grant_raw.get("type") is not None:
        grant_type = str(grant_raw.get("type"))
    s["authorizeUrl"] = clean_url(
        get("authorizeUrl"),
        join(path, "authorizeUrl"),
        problems,
        required=grant_type == "authorizationCode",
    )
    s["tokenUrl"] = clean_url(get("tokenUrl"), join(path, "tokenUrl"), problems, required=True)
    s["scopes"] = _oauth2_scopes(get("scopes"), join(path, "scopes"), problems)
    s["defaultScopes"] = clean_scopes(get("defaultScopes"), join(path, "defaultScopes"), problems)
    for key in ("additionalAuthorizeParams", "additionalTokenParams"):
        s[key] = clean_query_string(get(key), join(path, key), problems)
    s["mtlsEnabled"] = clean_bool(get("mtlsEnabled"), join(path, "mtlsEnabled"), problems)
    mtls_path = join(path, "mtlsCredentialId")
    s["mtlsCredentialId"] = clean_id_ref(fields.get("mtlsCredentialId"), mtls_path, problems)
    if s["mtlsCredentialId"]:
        out.credential_refs.append(
            CredentialRef(mtls_path, s["mtlsCredentialId"], required_type="certificate")
        )
    s["pkce"] = clean_bool(get("pkce"), join(path, "pkce"), problems)
    s["issuer"] = clean_url(get("issuer"), join(path, "issuer"), problems)
    s["issParameterSupported"] = clean_bool(
        get("issParameterSupported"), join(path, "issParameterSupported"), problems
    )
    if s["issParameterSupported"] and not s["issuer"]:
        problems.add(
            join(path, "issuer"), "Is required when issParameterSupported is true (RFC 9207)."
        )
    separator_path = join(path, "scopeSeparator")
    separator = clean_text(get("scopeSeparator"), separator_path, problems, max_length=1)
    if separator is not None and (len(separator) != 1 or separator.isalnum()):
        problems.add(separator_path, "Must be one character that is not a letter or digit.")
    s["scopeSeparator"] = separator
    s["tokenAuthMethod"] = clean_choice(
        get("tokenAuthMethod"),
        join(path, "tokenAuthMethod"),
        problems,
        ("client_secret_basic", "client_secret_post"),
    )
    s["refreshMarginSeconds"] = clean_int(
        get("refreshMarginSeconds"),
        join(path, "refreshMarginSeconds"),
        problems,
        minimum=0,
        maximum=86_400,
    )
    s["revokeUrl"] = clean_url(get("revokeUrl"), join(path, "revokeUrl"), problems)
    s["grant"] = _oauth2_grant(grant_raw, join(path, "grant"), problems, out)
    out.settings = s


def _oauth2_scopes(value: Any, path: str, problems: Problems) -> list[dict[str, str]]:
    if not isinstance(value, list):
        problems.add(path, "Must be a list of {name, description} objects.")
        return []
    if len(value) > 100:
        problems.add(path, "Must have at most 100 items.")
        return []
    out: list[dict[str, str]] = []
    for index, item in enumerate(value):
        item_path = join(path, index)
        obj = check_object(item, item_path, problems, allowed={"name", "description"})
        if obj is None:
            continue
        names = clean_scopes([obj.get("name")], join(item_path, "name"), problems)
        description = clean_text(
            obj.get("description") or "", join(item_path, "description"), problems, max_length=1000
        )
        if names:
            out.append({"name": names[0], "description": description or ""})
    return out


def _oauth2_grant(value: Any, path: str, problems: Problems, out: CleanScheme) -> dict[str, Any]:
    if value is None:
        return {"type": "authorizationCode"}
    grant = check_object(value, path, problems, allowed={"type", *GRANT_TYPES})
    if grant is None:
        return {"type": "authorizationCode"}
    result: dict[str, Any] = {
        "type": clean_choice(
            grant.get("type", "authorizationCode"), join(path, "type"), problems, GRANT_TYPES
        )
    }
    for name in GRANT_TYPES:
        if grant.get(name) in (None, {}):
            continue
        item_path = join(path, name)
        item = check_object(
            grant[name],
            item_path,
            problems,
            allowed={"credentialId", "organisationId", "clientId", "clientSecret"},
        )
        if item is None:
            continue
        credential_id = clean_id_ref(
            item.get("credentialId"), join(item_path, "credentialId"), problems
        )
        organisation_id = clean_id_ref(
            item.get("organisationId"), join(item_path, "organisationId"), problems
        )
        client_id = clean_text(item.get("clientId"), join(item_path, "clientId"), problems)
        secret_path = join(item_path, "clientSecret")
        client_secret = clean_text(item.get("clientSecret"), secret_path, problems, max_length=4096)
        if credential_id:
            if client_secret is not None:
                problems.add(
                    secret_path,
                    "Give either credentialId or clientId with clientSecret, not both.",
                )
                continue
            out.credential_refs.append(
                CredentialRef(
                    join(item_path, "credentialId"),
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
        elif client_id and client_secret:
            out.grant_clients.append(
                GrantClient(name, client_id, client_secret, item_path, organisation_id)
            )
            result[name] = {"clientId": client_id}
        elif client_id is not None or client_secret is not None:
            problems.add(item_path, "Give credentialId, or both clientId and clientSecret.")
    return result


def _parse_oauth1(fields: dict[str, Any], path: str, problems: Problems, out: CleanScheme) -> None:
    endpoints = ("tempCredentialEndpoint", "resourceOwnerAuthorizationEndpoint", "tokenEndpoint")
    check_object(
        fields,
        path,
        problems,
        allowed={
            "consumerKey",
            "consumerSecret",
            "signatureMethod",
            "tokenAuth",
            "credentialId",
            *endpoints,
        },
    )
    s: dict[str, Any] = {
        "consumerKey": clean_text(
            fields.get("consumerKey"), join(path, "consumerKey"), problems, required=True
        )
    }
    for name in endpoints:
        s[name] = _oauth1_endpoint(fields.get(name), join(path, name), problems)
    s["signatureMethod"] = clean_choice(
        fields.get("signatureMethod", "HMAC-SHA1"),
        join(path, "signatureMethod"),
        problems,
        OAUTH1_SIGNATURE_METHODS,
    )
    s["tokenAuth"] = bool(clean_bool(fields.get("tokenAuth"), join(path, "tokenAuth"), problems))
    credential_path = join(path, "credentialId")
    s["credentialId"] = clean_id_ref(fields.get("credentialId"), credential_path, problems)
    if s["credentialId"]:
        out.credential_refs.append(CredentialRef(credential_path, s["credentialId"]))
    # RSA-SHA1 puts a PEM private key here, hence multi-line.
    consumer_secret = clean_text(
        fields.get("consumerSecret"),
        join(path, "consumerSecret"),
        problems,
        max_length=16_384,
        multiline=True,
    )
    out.secrets = None if consumer_secret is None else {"consumerSecret": consumer_secret}
    out.settings = s


def _oauth1_endpoint(value: Any, path: str, problems: Problems) -> dict[str, Any] | None:
    if value is None:
        problems.add(path, "This field is required.")
        return None
    obj = check_object(
        value, path, problems, allowed={"url", "additionalParamConfigs", "parameterTransmission"}
    )
    if obj is None:
        return None
    configs_path = join(path, "additionalParamConfigs")
    configs_raw = obj.get("additionalParamConfigs") or []
    configs: list[dict[str, Any]] = []
    if not isinstance(configs_raw, list) or len(configs_raw) > 50:
        problems.add(configs_path, "Must be a list of at most 50 objects.")
        configs_raw = []
    for index, item in enumerate(configs_raw):
        item_path = join(configs_path, index)
        config = check_object(
            item,
            item_path,
            problems,
            allowed={"parameterName", "targetName", "location", "usages", "required", "modifiable"},
        )
        if config is None:
            continue
        configs.append(
            {
                "parameterName": _param_name(
                    config.get("parameterName"), join(item_path, "parameterName"), problems
                ),
                "targetName": clean_text(
                    config.get("targetName") or "",
                    join(item_path, "targetName"),
                    problems,
                    max_length=256,
                ),
                "location": _enum_name(
                    config.get("location", "LOCATION_IGNORE"),
                    "LOCATION_",
                    join(item_path, "location"),
                    problems,
                ),
                "usages": _enum_name(
                    config.get("usages", "USAGE_UNKNOWN"),
                    "USAGE_",
                    join(item_path, "usages"),
                    problems,
                ),
                "required": bool(
                    clean_bool(config.get("required"), join(item_path, "required"), problems)
                ),
                "modifiable": bool(
                    clean_bool(config.get("modifiable"), join(item_path, "modifiable"), problems)
                ),
            }
        )
    return {
        "url": clean_url(obj.get("url"), join(path, "url"), problems, required=True),
        "additionalParamConfigs": configs,
        "parameterTransmission": clean_choice(
            obj.get("parameterTransmission", OAUTH1_TRANSMISSIONS[0]),
            join(path, "parameterTransmission"),
            problems,
            OAUTH1_TRANSMISSIONS,
        ),
    }


def _enum_name(value: Any, prefix: str, path: str, problems: Problems) -> str | None:
    # Seed 004 shows one member of these enums; any name of the same family is kept as given.
    if not isinstance(value, str) or not value.startswith(prefix) or not ENUM_NAME_RE.match(value):
        problems.add(path, f"Must be an upper-case name starting with {prefix}.")
        return None
    return value


_PARSERS: dict[str, Callable[[dict[str, Any], str, Problems, CleanScheme], None]] = {
    AuthSchemeType.NONE: _parse_empty,
    AuthSchemeType.BASIC_AUTH: _parse_empty,
    AuthSchemeType.CERTIFICATE: _parse_empty,
    AuthSchemeType.API_KEY: _parse_api_key,
    AuthSchemeType.HMAC: _parse_hmac,
    AuthSchemeType.OAUTH2: _parse_oauth2,
    AuthSchemeType.OAUTH1: _parse_oauth1,
}


# --- advisory messages ------------------------------------------------------------


def _message(text: str, severity: str, *detail: str) -> dict[str, Any]:
    return {"text": text, "severity": severity, "detail": list(detail)}


def validation_messages(type_: str, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Advice about a stored config, computed on every read (never stored, ignored on input)."""
    if type_ == AuthSchemeType.OAUTH2:
        return _oauth2_messages({**OAUTH2_DEFAULTS, **(settings or {})})
    if type_ == AuthSchemeType.OAUTH1:
        messages = []
        if (settings or {}).get("signatureMethod") == "PLAINTEXT":
            messages.append(
                _message(
                    "PLAINTEXT signatures send the consumer secret as is.",
                    "warning",
                    "Prefer HMAC-SHA256 when the provider supports it.",
                )
            )
        return messages
    if type_ == AuthSchemeType.HMAC and (settings or {}).get("algorithm") == "sha1":
        return [_message("SHA-1 is weak; prefer sha256 or sha512.", "warning")]
    return []


def _oauth2_messages(s: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    grant = s.get("grant") or {}
    grant_type = grant.get("type") or "authorizationCode"
    client = grant.get(grant_type) or {}
    if not client.get("credentialId"):
        messages.append(
            _message(
                f"The {grant_type} grant has no client credential.",
                "error",
                f"Set grant.{grant_type} with clientId and clientSecret, or a credentialId "
                "of an oauth2-client credential.",
            )
        )
    if grant_type == "authorizationCode" and not s.get("pkce"):
        messages.append(
            _message(
                "PKCE is off.",
                "warning",
                "PKCE protects the authorization code from interception; turn it off only "
                "for providers that reject it.",
            )
        )
    for key in ("authorizeUrl", "tokenUrl", "revokeUrl"):
        if str(s.get(key) or "").startswith("http://"):
            messages.append(
                _message(f"{key} is not https.", "warning", "Allowed on loopback only.")
            )
    if not s.get("defaultScopes"):
        messages.append(
            _message("No defaultScopes: the provider decides which access is granted.", "info")
        )
    declared = {scope["name"] for scope in s.get("scopes") or []}
    unknown = [
        scope for scope in s.get("defaultScopes") or [] if declared and scope not in declared
    ]
    if unknown:
        messages.append(
            _message("Some defaultScopes are not among the declared scopes.", "warning", *unknown)
        )
    if s.get("mtlsEnabled") and not s.get("mtlsCredentialId"):
        messages.append(_message("mTLS is enabled without an mtlsCredentialId.", "error"))
    return messages
