"""Real signing keys for the JWT tests: each a private key (the company's, kept by the test)
and its public JWK (what the company registers)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: Any

    def _jwk(self, key: Any) -> dict[str, Any]:
        algorithm: Any = {"RS": RSAAlgorithm, "PS": RSAAlgorithm, "ES": ECAlgorithm}.get(
            self.alg[:2], OKPAlgorithm
        )
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key))
        jwk.pop("key_ops", None)
        return {**jwk, "kid": self.kid}

    @property
    def public_jwk(self) -> dict[str, Any]:
        return self._jwk(self.private.public_key())

    @property
    def private_jwk(self) -> dict[str, Any]:
        return self._jwk(self.private)

    @property
    def public_pem(self) -> bytes:
        return bytes(
            self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        headers.setdefault("kid", self.kid)
        if headers["kid"] is None:
            del headers["kid"]
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


@cache
def _rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def rsa_key(kid: str = "rsa-1", bits: int = 2048, alg: str = "RS256") -> SigningKey:
    return SigningKey(kid=kid, alg=alg, private=_rsa(bits))


def ec_key(kid: str = "ec-1") -> SigningKey:
    return SigningKey(kid=kid, alg="ES256", private=ec.generate_private_key(ec.SECP256R1()))


def ed_key(kid: str = "ed-1") -> SigningKey:
    return SigningKey(kid=kid, alg="EdDSA", private=ed25519.Ed25519PrivateKey.generate())


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any], **header: Any) -> str:
    """``alg: none``: a header and claims with an empty signature."""
    head = b64url(json.dumps({"alg": "none", **header}).encode())
    return f"{head}.{b64url(json.dumps(claims).encode())}."


def hs256_with_public_key(key: SigningKey, claims: dict[str, Any]) -> str:
    """Algorithm confusion: HS256 with the RSA public key's PEM as the HMAC secret."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    body = b64url(json.dumps(claims).encode())
    mac = hmac.new(key.public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "user-1", "aud": "audience", "iat": now, "exp": now + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}
