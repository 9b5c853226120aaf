"""The proxy bench's upstream: a WSGI app that answers every request with 1 KB of JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"data": "' + b"x" * (1024 - 12) + b'"}'


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]
