"""The field kinds of the credential type table (:class:`credentials.types.Kind`): a
stored timestamp, string and base64 maps, a list of data keys, and the field a spec names."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from rest_framework import serializers

from core import validation as v
from core.text import BASE64_PATTERN
from core.wire import (
    Base64,
    Bool,
    QueryString,
    Scopes,
    Text,
    Timestamp,
    Url,
    WireField,
    cleaned,
)
from credentials.types import (
    DEFAULT_MAX_KEY_LENGTH,
    DEFAULT_MAX_KEYS,
    DEFAULT_MAX_VALUE_LENGTH,
    FieldSpec,
    Kind,
)

_KEY_RE = re.compile(rf"^[^\x00-\x1f\x7f]{{1,{DEFAULT_MAX_KEY_LENGTH}}}$")
_KEYS_MESSAGE = "Keys must be 1-200 characters without control characters."
_SECRET_HELP = "Secret: write-only, never in a response."


# --- Field kinds of the type table ------------------------------------------------------


class PemCertificates(Text):
    """One or more PEM X.509 certificates, parsed (with ``cryptography``) as TLS will."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(multiline=True, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        text = super().to_internal_value(data)
        if text and not pem_certificates(text):
            raise serializers.ValidationError(
                "Must be one or more PEM certificates (-----BEGIN CERTIFICATE-----)."
            )
        return text


class PemPrivateKey(Text):
    """An unencrypted PEM private key (the message never quotes it: it is a secret)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(multiline=True, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        text = super().to_internal_value(data)
        if text:
            try:
                serialization.load_pem_private_key(text.encode(), password=None)
            except TypeError:
                raise serializers.ValidationError(
                    "Must not be encrypted: give the key without its passphrase."
                ) from None
            except (ValueError, UnsupportedAlgorithm):
                raise serializers.ValidationError(
                    "Must be a PEM private key (-----BEGIN PRIVATE KEY-----)."
                ) from None
        return text


def pem_certificates(text: str) -> list[x509.Certificate]:
    """The certificates in ``text`` ([] when it holds none or is not PEM)."""
    try:
        return x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        return []


def key_matches(certificate: str, key: str) -> bool:
    """Whether ``key`` is the private key of the first certificate in ``certificate``."""
    certificates = pem_certificates(certificate)
    try:
        private = serialization.load_pem_private_key(key.encode(), password=None)
    except (TypeError, ValueError, UnsupportedAlgorithm):
        return False
    if not certificates:
        return False
    raw = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return bool(
        certificates[0].public_key().public_bytes(der, raw)
        == private.public_key().public_bytes(der, raw)
    )


class StoredTimestamp(Timestamp):
    """An ISO 8601 date-time with a timezone, kept as the string the API shows
    (``…Z``); internal callers (the OAuth flow) may pass an aware ``datetime``."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, datetime) and data.tzinfo is not None:
            data = data.isoformat()
        parsed = super().to_internal_value(data)
        return None if parsed is None else parsed.isoformat().replace("+00:00", "Z")


class StringMap(WireField, serializers.DictField):
    """An object of at most 50 short keys to strings of at most ``max_length``."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        self.item_length = max_length
        super().__init__(child=serializers.CharField(allow_blank=True), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: _string_map(data, p, max_length=self.item_length))


def _string_map(value: Any, problems: v.Problems, *, max_length: int) -> dict[str, str] | None:
    if not isinstance(value, dict) or len(value) > 50:
        problems.add("", "Must be an object of at most 50 string values.")
        return None
    return _key_map(
        value, problems, lambda item, key: v.clean_text(item, key, problems, max_length=max_length)
    )


def _key_map(
    value: dict[Any, Any], problems: v.Problems, clean: Callable[[Any, str], Any]
) -> dict[str, Any]:
    """Each key 1-200 characters without control characters, each value ``clean``-ed."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _KEY_RE.match(key):
            problems.add("", _KEYS_MESSAGE)
            continue
        text = clean(item, key)
        if text is not None:
            out[key] = text
    return out


class Base64Map(WireField, serializers.DictField):
    """``default`` data: keys to base64 values; a key given ``null`` is removed (its
    value is parsed as :data:`REMOVE`)."""

    def __init__(self, **kwargs: Any) -> None:
        child = serializers.CharField(max_length=DEFAULT_MAX_VALUE_LENGTH)
        super().__init__(child=child, **kwargs)

    def schema_facts(self) -> dict[str, Any]:
        # The keys' own rule (1-200 characters) has no keyword in OpenAPI 3.0.
        return {"additionalProperties": {"pattern": BASE64_PATTERN}}

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: _base64_map(data, p))


REMOVE: Any = object()


def _base64_map(value: Any, problems: v.Problems) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add("", "Must be an object of keys to base64 values.")
        return {}
    return _key_map(
        value,
        problems,
        lambda item, key: (
            REMOVE
            if item is None
            else v.clean_base64(item, key, problems, max_length=DEFAULT_MAX_VALUE_LENGTH)
        ),
    )


class KeyList(WireField, serializers.ListField):
    """``redactFields``: at most 100 keys of ``data``, duplicates dropped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: _key_list(data, p))


def _key_list(value: Any, problems: v.Problems) -> list[str] | None:
    if not isinstance(value, list) or len(value) > DEFAULT_MAX_KEYS:
        problems.add("", f"Must be a list of at most {DEFAULT_MAX_KEYS} keys.")
        return None
    out: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not _KEY_RE.match(item):
            problems.add(f"[{index}]", "Must be a key of data.")
            continue
        out.append(item)
    return list(dict.fromkeys(out))


# How each kind of the type table is parsed: (the field, from the common arguments and
# those of a string, with its maximum length) and what the document adds about it.
_Make = Callable[[dict[str, Any], dict[str, Any]], serializers.Field]
_KINDS: dict[Kind, tuple[_Make, str]] = {
    Kind.TEXT: (lambda common, text: Text(**text), ""),
    Kind.ID: (lambda common, text: Text(**text), ""),
    Kind.PEM: (lambda common, text: Text(**text, multiline=True), "PEM."),
    Kind.CERTIFICATES: (
        lambda common, text: PemCertificates(**text),
        "PEM X.509 certificates (`-----BEGIN CERTIFICATE-----`), the first one the "
        "client's own when a chain.",
    ),
    Kind.PRIVATE_KEY: (
        lambda common, text: PemPrivateKey(**text),
        "An unencrypted PEM private key (`-----BEGIN PRIVATE KEY-----`, or the RSA/EC forms).",
    ),
    Kind.BASE64: (lambda common, text: Base64(**text), "Standard base64."),
    Kind.QUERY: (
        lambda common, text: QueryString(**text),
        "A URL-encoded query string (`a=1&b=2`).",
    ),
    Kind.URL: (
        lambda common, text: Url(**common),
        "An absolute https URL.",
    ),
    Kind.BOOL: (lambda common, text: Bool(**common), ""),
    Kind.SCOPES: (lambda common, text: Scopes(**common), ""),
    Kind.DATETIME: (lambda common, text: StoredTimestamp(**common, allow_null=True), ""),
    Kind.STRING_MAP: (lambda common, text: StringMap(**text), ""),
}


def spec_field(spec: FieldSpec) -> serializers.Field:
    """The wire field of one entry of the type table."""
    make, about = _KINDS[spec.kind]
    common: dict[str, Any] = {"required": spec.required}
    if spec.secret:
        common["write_only"] = True
    # A constructor argument: DRF copies a field by calling its class again.
    help_text = " ".join(filter(None, [_SECRET_HELP if spec.secret else "", about]))
    if help_text:
        common["help_text"] = help_text
    return make(common, {**common, "max_length": spec.max_length})
