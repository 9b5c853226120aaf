"""The demo company's signing key (SPEC §11): what a company's backend keeps to sign the
end-user tokens its pages hand the widget.

``manage.py demo`` makes an EC P-256 key once, keeps its private half in the demo
signing-key file (beside the demo key file, readable by its owner only) and registers its
public half as the demo hub's ``signingKeys``; ``manage.py demo_end_user_token`` signs a
token with it, exactly as a company's backend would (README walkthrough). A new database
keeps the same key; a lost file makes a new one, registered by the next ``manage.py demo``.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from jwt.algorithms import ECAlgorithm

KID = "demo-signing-key-1"
# The demo host page's signed-in user (demo/host.py) unless told otherwise.
DEFAULT_EXTERNAL_ID = "demo-user-1"


def signing_key_file() -> Path:
    path = Path(settings.PATCHBAY_DEMO_KEY_FILE)  # the demo key file: this one goes beside it
    return path.with_name(path.name.removesuffix("demo-key") + "demo-signing-key")


def _load() -> ec.EllipticCurvePrivateKey | None:
    try:
        key = serialization.load_pem_private_key(signing_key_file().read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def demo_signing_key() -> ec.EllipticCurvePrivateKey:
    """The demo's private signing key, made (and kept, owner-only) on first use."""
    key = _load()
    if key is not None:
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = signing_key_file()
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as fh:
        fh.write(pem)
    os.replace(temporary, path)
    return key


def demo_public_jwk() -> dict[str, Any]:
    """The public half, as the hub API takes it: what a company registers."""
    jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(demo_signing_key().public_key()))
    return {"kty": "EC", "kid": KID, "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"]}


def demo_end_user_token(
    *, hub_id: str, external_id: str = DEFAULT_EXTERNAL_ID, name: str | None = None,
    minutes: int = 5,
) -> str:  # fmt: skip
    """A company-signed end-user token for ``hub_id``: what a company's backend signs (the
    README shows the same few lines with PyJWT and with jose)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": external_id,
        "aud": hub_id,
        "iat": now,
        "exp": now + minutes * 60,
        "jti": secrets.token_urlsafe(16),
    }
    if name:
        claims["name"] = name
    return jwt.encode(claims, demo_signing_key(), algorithm="ES256", headers={"kid": KID})
