"""API key material: generation and peppered hashing. Keys are shown once and never stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from organisations.models import ApiKey, Organisation

KEY_PREFIX = "pb_"


def _pepper() -> bytes:
    # Derived from SECRET_KEY so there is one less secret to manage; rotating
    # SECRET_KEY therefore invalidates every API key (README says so).
    return hashlib.sha256(b"patchbay-api-key-pepper|" + settings.SECRET_KEY.encode()).digest()


def hash_key(key: str) -> str:
    return hmac.new(_pepper(), key.encode(), hashlib.sha256).hexdigest()


def split_key(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    prefix, sep, rest = key[len(KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or not rest or not prefix.isalnum():
        return None
    return prefix


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    key: str  # the only time the whole key exists outside the caller's hands


def api_key_create(
    *, organisation: Organisation, name: str = "", expires_at: datetime | None = None
) -> NewApiKey:
    """Create an API key and return it with the plaintext key (shown once)."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        organisation=organisation,
        name=name,
        prefix=prefix,
        key_hash=hash_key(key),
        expires_at=expires_at,
    )
    return NewApiKey(api_key=api_key, key=key)


def api_key_matches(api_key: ApiKey, key: str) -> bool:
    return hmac.compare_digest(api_key.key_hash, hash_key(key))
