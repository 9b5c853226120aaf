"""A small OpenID Connect IdP on loopback: discovery and JWKS over real HTTP, keys made by
``cryptography``, id_tokens signed with PyJWT (RS256, ES256, PS256, EdDSA).

It can rotate its keys, and misbehave on the JWKS endpoint (``slow``, ``huge``,
``html``) the way a broken IdP would. It counts the JWKS requests it answers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.jwt_keys import SigningKey
from tests.servers import in_thread


def make_key(kid: str, alg: str = "RS256") -> SigningKey:
    """A fresh key (``tests.jwt_keys.rsa_key`` reuses one RSA key per size)."""
    if alg in ("RS256", "PS256"):
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    return SigningKey(kid=kid, alg=alg, private=private)


@dataclass
class Idp:
    url: str
    audience: str = "patchbay"
    keys: list[SigningKey] = field(default_factory=list)
    jwks_requests: int = 0
    discovery_requests: int = 0
    misbehave: str = ""  # "", "slow", "huge", "html", "500"
    extra_jwks: list[dict[str, Any]] = field(default_factory=list)  # published as they are

    @property
    def issuer(self) -> str:
        return self.url

    def key(self, kid: str) -> SigningKey:
        return next(k for k in self.keys if k.kid == kid)

    def token(
        self,
        organisation_id: object,
        *,
        key: SigningKey | None = None,
        headers: dict[str, Any] | None = None,
        claim: str = "org_id",
        **claims: Any,
    ) -> str:
        """A real id_token for ``organisation_id``; ``claims`` override or (as None) drop
        the standard ones."""
        key = key or self.keys[0]
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "billing-service",
            "iat": now,
            "exp": now + 300,
            claim: str(organisation_id),
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return key.sign(payload, **(headers or {}))

    def jwks(self) -> dict[str, Any]:
        keys = [{**k.public_jwk, "use": "sig", "alg": k.alg} for k in self.keys]
        return {"keys": [*keys, *self.extra_jwks]}


def _handler(idp: Idp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                idp.discovery_requests += 1
                doc = {
                    "issuer": idp.issuer,
                    "jwks_uri": f"{idp.url}/jwks",
                    "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                }
                self._send(200, json.dumps(doc).encode(), "application/json")
            elif self.path == "/jwks":
                idp.jwks_requests += 1
                if idp.misbehave == "slow":
                    time.sleep(3)
                    self._send(200, json.dumps(idp.jwks()).encode(), "application/json")
                elif idp.misbehave == "huge":
                    padding = "x" * (3 * 1024 * 1024)
                    body = json.dumps({**idp.jwks(), "padding": padding}).encode()
                    self._send(200, body, "application/json")
                elif idp.misbehave == "html":
                    self._send(200, b"<html><body>Sign in</body></html>", "text/html")
                elif idp.misbehave == "500":
                    self._send(500, b"{}", "application/json")
                else:
                    self._send(200, json.dumps(idp.jwks()).encode(), "application/json")
            else:
                self._send(404, b"{}", "application/json")

    return Handler


@contextmanager
def serve_idp() -> Iterator[Idp]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    idp = Idp(url=f"http://127.0.0.1:{server.server_address[1]}")
    idp.keys = [make_key("rsa-1"), make_key("ec-1", "ES256")]
    server.RequestHandlerClass = _handler(idp)
    server.daemon_threads = True
    with in_thread(server):
        yield idp
