"""The outbound seam, streaming: one request whose answer is read as it arrives.

The proxy (SPEC §9.1) passes bodies of up to tens of megabytes through, so it cannot use
:func:`core.outbound.session`, which reads the whole answer into memory. :func:`stream`
keeps every guard of the seam — :func:`core.outbound.check_url`, the SSRF check of the
address actually connected to, the (connect, read) timeouts, an absolute deadline that
cuts a trickling server, no proxies from the environment, no redirects followed, one
exception type — and hands back a :class:`Streamed` whose body is read in chunks, capped
at ``limit`` bytes. Tests fake the network at :func:`core.outbound.transport` exactly as
for the other calls (a fake's ``requests.Response`` with ``_content`` set streams too).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from core.client_tls import ClientCertificate
from core.deadline import Deadline, current
from core.outbound import GuardedAdapter, OutboundError, _refused, check_url

logger = logging.getLogger("core.outbound")

CHUNK = 65_536


class Body(Protocol):
    """A request body sent in chunks with its length known (``Content-Length``)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[bytes]: ...


def transport_streamed(
    adapter: HTTPAdapter,
    request: requests.PreparedRequest,
    *,
    deadline_seconds: float,
    **kwargs: Any,
) -> requests.Response:
    """:func:`core.outbound.transport` with ``stream=True``: send one request and return as
    soon as the status and headers are in; the deadline (started now) keeps watching the
    connection until :meth:`Streamed.close`."""
    deadline = Deadline(deadline_seconds)
    current.deadline = deadline
    try:
        response = HTTPAdapter.send(adapter, request, stream=True, **kwargs)
    except Exception as exc:
        deadline.cancel()
        if deadline.fired:
            raise OutboundError("timeout", "The remote server did not answer in time.") from exc
        raise
    finally:
        current.deadline = None
    if deadline.fired:  # cut while the headers trickled in: they may look complete
        response.close()
        raise OutboundError("timeout", "The remote server did not answer in time.")
    response.patchbay_deadline = deadline  # type: ignore[attr-defined]
    return response


@dataclass
class Streamed:
    """An upstream answer whose body is still on the wire.

    ``headers`` are the raw header lines, repeated names kept. Read the body once with
    :meth:`chunks` (or :meth:`read`); it raises :class:`OutboundError` (``too_large``,
    ``timeout``, ``connection``) when the body breaks off. Always :meth:`close` it (chunks
    does when it ends), which also stops the deadline's timer.
    """

    status: int
    reason: str
    headers: list[tuple[str, str]]
    url: str = field(repr=False)
    limit: int
    response: requests.Response = field(repr=False)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        read = 0
        deadline = getattr(self.response, "patchbay_deadline", None)
        try:
            for chunk in self._source(size):
                read += len(chunk)
                if read > self.limit:
                    raise OutboundError(
                        "too_large", f"The response was larger than {self.limit} bytes."
                    )
                yield chunk
            if deadline is not None and deadline.fired:
                raise OutboundError("timeout", "The response took too long to arrive.")
        except OutboundError as exc:
            reason = "deadline" if exc.kind == "timeout" else None
            raise _refused(exc, self.url, reason=reason) from None
        except Exception as exc:
            if deadline is not None and deadline.fired:
                error = OutboundError("timeout", "The response took too long to arrive.")
                raise _refused(error, self.url, reason="deadline") from exc
            error = OutboundError("connection", "The remote server broke off the response.")
            raise _refused(error, self.url, reason="broken_off") from exc
        finally:
            self.close()

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def _source(self, size: int) -> Iterable[bytes]:
        response = self.response
        if getattr(response, "_content_consumed", False) or response.raw is None:
            content = response.content or b""  # a fake at the transport seam
            return (content[i : i + size] for i in range(0, len(content), size))
        # As sent: a gzip body stays gzip, with its Content-Encoding passed on.
        return response.raw.stream(size, decode_content=False)

    def close(self) -> None:
        self.response.close()
        deadline = getattr(self.response, "patchbay_deadline", None)
        if deadline is not None:
            deadline.cancel()


def stream(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: bytes | Body | None = None,
    limit: int,
    deadline_seconds: float,
    client_certificate: ClientCertificate | None = None,
) -> Streamed:
    """Send one request through the seam and return as soon as its headers are in.

    ``body`` is bytes, or a :class:`Body` (sent in chunks, with its ``Content-Length``).
    ``client_certificate``: presented over TLS (mTLS), its CA the only trust anchor.
    Redirects are never followed: a 3xx is returned like any other answer. Raises
    :class:`OutboundError` (``invalid_url``, ``blocked``, ``timeout``, ``connection``).
    """
    check_url(url)
    adapter = GuardedAdapter(
        max_retries=0,
        deadline=deadline_seconds,
        streaming=True,
        client_certificate=client_certificate,
    )
    try:
        prepared = requests.Request(method, url, headers=headers, data=body).prepare()
    except (requests.RequestException, ValueError) as exc:
        raise _refused(
            OutboundError("invalid_url", "The request could not be prepared."), url
        ) from exc
    try:
        response = adapter.send(prepared, stream=True, timeout=settings.PATCHBAY_HTTP_TIMEOUT)
    except Exception:
        adapter.close()
        raise
    raw_headers: Any = getattr(response.raw, "headers", None)
    pairs = list(raw_headers.items()) if raw_headers is not None else []
    if not pairs:
        pairs = list(response.headers.items())
    return Streamed(
        status=response.status_code,
        reason=response.reason or "",
        headers=[(str(k), str(v)) for k, v in pairs],
        url=url,
        limit=limit,
        response=response,
    )
