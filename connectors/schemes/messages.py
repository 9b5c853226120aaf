"""Advice about a stored auth scheme config (``validationMessages``), computed on every
read: never stored, ignored on input."""

from __future__ import annotations

from typing import Any

from connectors.models import AuthSchemeType
from connectors.oauth2 import OAUTH2_DEFAULTS


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
