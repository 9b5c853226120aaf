"""The caller's request body, read once into a spool that can be sent again.

The body is read in chunks and counted: past ``PATCHBAY_PROXY_MAX_BODY_BYTES`` it is 413
(a declared ``Content-Length`` over the limit is refused before anything is read). Up to
:data:`IN_MEMORY` bytes it stays in memory, beyond that in an anonymous temporary file
(owner-only, gone when closed), so a 10 MiB upload costs 10 MiB of disk, not of memory.
Being spooled, it can be replayed: for ``Patchbay-Retries``, for the one retry after an
OAuth 2.0 refresh, and for an HMAC over the body, which is computed from the same spool.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Protocol

from django.conf import settings

from core.errors import PatchbayError

IN_MEMORY = 1_048_576
CHUNK = 65_536


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def too_large(limit: int) -> PatchbayError:
    return PatchbayError(
        "request_too_large", f"Proxied request bodies are limited to {limit} bytes.", 413
    )


class SpooledBody:
    """A replayable request body: ``len()`` is its size, iterating yields it from the start."""

    def __init__(self, data: bytes = b"") -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115
        self._size = 0
        if data:
            self.write(data)

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._size += len(chunk)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        self._file.seek(0)
        while chunk := self._file.read(CHUNK):
            yield chunk

    def close(self) -> None:
        self._file.close()


def body_read(stream: Readable | None, content_length: str | None) -> SpooledBody:
    """The caller's body from a WSGI input stream, or 413 past the limit."""
    limit = settings.PATCHBAY_PROXY_MAX_BODY_BYTES
    try:
        declared = int(content_length) if content_length else 0
    except ValueError:
        raise PatchbayError("invalid_request", "Content-Length is not a number.", 400) from None
    if declared > limit:
        raise too_large(limit)
    body = SpooledBody()
    if stream is None or declared <= 0:
        return body
    left = declared
    while left > 0:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        body.write(chunk)
        if len(body) > limit:  # pragma: no cover - the declared length was checked
            body.close()
            raise too_large(limit)
    return body
