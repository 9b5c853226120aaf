"""Real upstream servers on loopback for the proxy, each checking what it receives with its
own code (never Patchbay's), and recording every request as it arrived on the wire."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from connectors.models import AuthSchemeConfig, Connector
from credentials.models import Credential
from tests.connections import factories as f


@dataclass
class Seen:
    method: str
    path: str  # the request target as sent: path and query, still percent-encoded
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def names(self) -> set[str]:
        return {k.lower() for k, _ in self.headers}


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Iterator[bytes] = b"ok"
    content_length: bool = True


Handler = Callable[[Seen], Reply]


@dataclass
class Upstream:
    """An HTTP server on loopback: ``handler`` decides each answer, ``seen`` records."""

    url: str
    seen: list[Seen]
    handler: Handler

    def reply(self, handler: Handler) -> None:
        self.handler = handler

    @property
    def last(self) -> Seen:
        assert self.seen, "the upstream received nothing"
        return self.seen[-1]


def _make_handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(self.command, self.path, list(self.headers.items()), body)
            upstream.seen.append(seen)
            reply = upstream.handler(seen)
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if isinstance(reply.body, bytes):
                if reply.content_length:
                    self.send_header("Content-Length", str(len(reply.body)))
                else:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)
            else:
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for chunk in reply.body:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
            self.close_connection = True

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    return H


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    box = Upstream(url="", seen=[], handler=lambda seen: Reply())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(box))
    server.daemon_threads = True
    box.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()


def connector_to(actor: Any, base_url: str, name: str = "Upstream API") -> Connector:
    return Connector.objects.create(organisation=actor.organisation, name=name, base_url=base_url)


def config(connector: Connector, type: str, config_id: str, **settings: Any) -> AuthSchemeConfig:
    return AuthSchemeConfig.objects.create(
        organisation=connector.organisation,
        connector=connector,
        config_id=config_id,
        type=type,
        settings=settings,
    )


def credential(actor: Any, type: str, **data: Any) -> Credential:
    return Credential.objects.create(
        organisation=actor.organisation, name=f"{type} credential", type=type, data=data
    )


def api_key_connection(
    actor: Any, base_url: str, *, where: str = "header", name: str = "X-Api-Key"
):
    """A connection whose one credential is an API key (returned too), sent ``where``."""
    connector = connector_to(actor, base_url)
    key = "ak-" + secrets.token_urlsafe(24)
    link = (
        config(connector, "api-key", "key", name=name, **{"in": where}),
        credential(actor, "string", value=key),
    )
    return f.connection(actor.organisation, connector, links=[link]), key


def proxy_url(actor: Any, connection: Any, path: str) -> str:
    return actor.url(f"connections/{connection.pk}/proxy/{path}")
