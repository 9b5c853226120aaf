"""The key ring: AES-256-GCM, the only code that touches encryption keys.

Envelope format (text, safe in any column): ``pb1:<kid>:<base64url(nonce || ciphertext+tag)>``.
The associated data binds a ciphertext to the organisation, table, column and
row it was written for, so a ciphertext copied elsewhere does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "pb1"
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class DecryptionError(Exception):
    """A ciphertext could not be decrypted (wrong row, unknown key, tampered). Carries no secret."""


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[tuple[str, AESGCM], ...]

    @property
    def primary_kid(self) -> str:
        return self.keys[0][0]

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        keys: list[tuple[str, AESGCM]] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            kid, sep, encoded = item.partition(":")
            if not sep or not _KID.match(kid):
                raise ImproperlyConfigured(
                    "PATCHBAY_ENCRYPTION_KEYS entries look like 'kid:base64(32 bytes)'."
                )
            try:
                raw = base64.b64decode(encoded, validate=True)
            except binascii.Error as exc:
                raise ImproperlyConfigured(f"Encryption key {kid!r} is not base64.") from exc
            if len(raw) != 32:
                raise ImproperlyConfigured(f"Encryption key {kid!r} must be 32 bytes (AES-256).")
            if any(kid == existing for existing, _ in keys):
                raise ImproperlyConfigured(f"Encryption key id {kid!r} appears twice.")
            keys.append((kid, AESGCM(raw)))
        if not keys:
            raise ImproperlyConfigured("PATCHBAY_ENCRYPTION_KEYS holds no key.")
        return cls(tuple(keys))

    def _key(self, kid: str) -> AESGCM:
        for candidate, key in self.keys:
            if candidate == kid:
                return key
        raise DecryptionError(f"No key with id {kid!r} in the key ring.")

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> str:
        kid, key = self.keys[0]
        nonce = os.urandom(12)
        sealed = key.encrypt(nonce, plaintext, associated_data)
        return f"{PREFIX}:{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, envelope: str, associated_data: bytes) -> bytes:
        try:
            prefix, kid, encoded = envelope.split(":", 2)
            if prefix != PREFIX:
                raise ValueError(prefix)
            blob = base64.urlsafe_b64decode(encoded)
        except (ValueError, binascii.Error) as exc:
            raise DecryptionError("Not a Patchbay ciphertext.") from exc
        if len(blob) < 12 + 16:  # a nonce and a tag at least; AESGCM raises ValueError below
            raise DecryptionError("Not a Patchbay ciphertext.")
        try:
            return self._key(kid).decrypt(blob[:12], blob[12:], associated_data)
        except InvalidTag as exc:
            raise DecryptionError(
                "Decryption refused: the ciphertext does not belong to this row or was altered."
            ) from exc


@lru_cache(maxsize=4)
def _ring_for(spec: str) -> KeyRing:
    return KeyRing.parse(spec)


def key_ring() -> KeyRing:
    """The ring from settings (re-read when settings change, e.g. in tests)."""
    return _ring_for(settings.PATCHBAY_ENCRYPTION_KEYS)


def envelope_kid(envelope: str) -> str | None:
    parts = envelope.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX else None
