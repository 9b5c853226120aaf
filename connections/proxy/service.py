"""The proxy's one service: send a request to a connection's upstream (SPEC §9.1).

:func:`send` is what the proxy endpoint calls, and what verification (§9.2) calls: it
checks the target, filters the headers, applies the connection's credentials in order
(:mod:`connections.proxy.schemes`), makes the one outbound call
(:func:`upstream_call`, through the seam's streaming variant) and handles the one
refresh-and-retry after an OAuth 2.0 401 and the caller's ``Patchbay-Retries``. It raises
:class:`core.errors.PatchbayError` for everything that is Patchbay's own answer (404 is
the caller's: a connection it may not see never reaches here) and returns the upstream's
answer unread for the caller to stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from connections.models import Connection, ConnectionCredential, ConnectionStatus
from connections.oauth.refresh import ReauthorisationRequired
from connections.proxy.body import SpooledBody
from connections.proxy.headers import caller_headers, upstream_headers
from connections.proxy.outgoing import Outgoing
from connections.proxy.retries import RETRY_STATUSES, asked_wait, backoff, retryable_method
from connections.proxy.schemes import CallState, credentials_apply
from connections.proxy.target import base_url_of, clean_path, clean_query, target_url
from connectors.models import AuthSchemeType
from core.errors import PatchbayError
from core.outbound import OutboundError
from core.outbound_stream import Streamed, stream

logger = logging.getLogger("patchbay.proxy")

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
_RETRY_KINDS = frozenset({"connection", "timeout"})


@dataclass
class Upstream:
    """The upstream's answer, its body still unread. ``headers`` are those that may go
    back to the caller. Read the body once with :meth:`chunks` (it raises
    :class:`OutboundError` if the upstream breaks off or exceeds the limit) or close it."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    content_length: int | None
    attempts: int
    streamed: Streamed = field(repr=False)

    def chunks(self) -> Iterator[bytes]:
        return self.streamed.chunks()

    def read(self) -> bytes:
        return self.streamed.read()

    def close(self) -> None:
        self.streamed.close()


def upstream_error(error: OutboundError) -> PatchbayError:
    """Patchbay's answer for an upstream that gave none. A blocked address, a refused
    connection and a closed port read alike: the caller learns nothing of the network."""
    if error.kind == "client_certificate":  # the credential's, not the network's
        return PatchbayError("credential_unusable", error.message, 409)
    if error.kind == "timeout":
        return PatchbayError("upstream_timeout", "The upstream did not answer in time.", 504)
    if error.kind == "too_large":
        return PatchbayError("upstream_response_too_large", error.message, 502)
    return PatchbayError("upstream_unreachable", "The upstream could not be reached.", 502)


def upstream_call(out: Outgoing, *, deadline_seconds: float) -> Streamed:
    """The proxy's one outbound call: ``out`` as it is after the credentials, through
    the seam (SSRF guard, timeouts, deadline, no redirects), body unread; with
    ``out.client_certificate`` set, over mTLS."""
    return stream(
        out.method,
        out.full_url(),
        headers=out.final_headers(),
        body=out.body if len(out.body) else None,
        limit=settings.PATCHBAY_PROXY_MAX_RESPONSE_BYTES,
        deadline_seconds=deadline_seconds,
        client_certificate=out.client_certificate,
    )


def _declared_length(answer: Streamed) -> int | None:
    raw = answer.header("Content-Length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw.strip())


def _refreshable(links: list[ConnectionCredential], state: CallState) -> set[Any]:
    """The oauth2 token links used on this request and not yet refreshed during it."""
    return {
        link.pk
        for link in links
        if link.auth_scheme_config.type == AuthSchemeType.OAUTH2
        and link.pk in state.tokens
        and link.pk not in state.refreshed
    }


def send(
    *,
    connection: Connection,
    method: str,
    path: str,
    query: str = "",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: bytes | SpooledBody | None = None,
    retries: int = 0,
) -> Upstream:
    """Send ``method path?query`` to ``connection``'s upstream with its credentials.

    Call it with a connection read by :func:`connections.selectors.connection_get` (its
    credentials and connector are then read without further queries), the path relative
    to the base URL (``"v1/items"``, no leading ``/``), the raw query string (``"a=1"``),
    the caller's headers (filtered here: ``Authorization``, ``Cookie``, ``Host`` … never go
    on), the body as bytes or a :class:`SpooledBody`, and ``retries`` (0 to 5, used only for
    idempotent requests). Returns :class:`Upstream` — close it or read it to the end.

    Raises :class:`PatchbayError`: 400 ``invalid_path``/``invalid_header``/
    ``invalid_request``, 409 ``reauthorisation_required``, ``scheme_not_supported``,
    ``base_url_required``, ``credential_unusable``; 502 ``upstream_unreachable``,
    ``upstream_response_too_large``, ``token_refresh_failed``; 504 ``upstream_timeout``.
    """
    method = method.upper()
    if method not in METHODS:
        raise PatchbayError("method_not_allowed", f"{method[:16]} is not proxied.", 405)
    if connection.status == ConnectionStatus.NEEDS_REAUTH:
        raise ReauthorisationRequired(
            message="The connection needs re-authorisation before it can be used."
        )
    base = base_url_of(connection.base_url, connection.connector.base_url)
    url = target_url(base, clean_path(path))
    query = clean_query(query)
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    forwarded = upstream_headers(pairs)
    idempotent = retryable_method(method, forwarded)
    spool = body if isinstance(body, SpooledBody) else SpooledBody(body or b"")
    links = list(connection.connection_credentials.all())
    state = CallState(connection=connection)
    deadline = time.monotonic() + settings.PATCHBAY_PROXY_DEADLINE_SECONDS
    attempt, reauthorised = 0, False
    while True:
        out = Outgoing(method=method, url=url, query=query, headers=dict(forwarded), body=spool)
        credentials_apply(out, links, state)
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise OutboundError("timeout", "The proxy's deadline passed.")
            answer = upstream_call(out, deadline_seconds=remaining)
        except OutboundError as exc:
            if idempotent and attempt < retries and exc.kind in _RETRY_KINDS:
                wait = backoff(attempt, None)
                if time.monotonic() + wait < deadline:
                    time.sleep(wait)
                    attempt += 1
                    continue
            _log(connection, method, url, f"error:{exc.kind}", attempt + 1)
            raise upstream_error(exc) from None
        if answer.status == 401 and not reauthorised:
            stale = _refreshable(links, state)
            if stale:  # the token may have been revoked early: one refresh, one retry
                answer.close()
                state.force_refresh |= stale
                reauthorised = True
                continue
        if answer.status in RETRY_STATUSES and idempotent and attempt < retries:
            wait = backoff(attempt, asked_wait(answer.header))
            if time.monotonic() + wait < deadline:
                answer.close()
                time.sleep(wait)
                attempt += 1
                continue
        length = _declared_length(answer)
        limit = settings.PATCHBAY_PROXY_MAX_RESPONSE_BYTES
        if length is not None and length > limit and method != "HEAD":
            answer.close()
            _log(connection, method, url, "error:too_large", attempt + 1)
            raise upstream_error(
                OutboundError("too_large", f"The upstream's answer is larger than {limit} bytes.")
            )
        _log(connection, method, url, answer.status, attempt + 1)
        return Upstream(
            status=answer.status,
            reason=answer.reason,
            headers=caller_headers(answer.headers),
            content_length=length,
            attempts=attempt + 1,
            streamed=answer,
        )


def _log(connection: Connection, method: str, url: str, outcome: object, attempts: int) -> None:
    # The host only: paths and queries may carry what the caller considers secret.
    logger.info(
        "proxied connection=%s method=%s host=%s outcome=%s attempts=%s",
        connection.pk,
        method,
        urlsplit(url).hostname,
        outcome,
        attempts,
    )
