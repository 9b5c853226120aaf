"""Which headers cross the proxy, each way (SPEC §9.1).

Towards the upstream, everything the caller sent except: hop-by-hop headers (RFC 9110
§7.6.1, and any the caller's ``Connection`` names), ``Host``, ``Authorization``,
``Cookie``, ``Proxy-*``, ``Forwarded``/``X-Forwarded-*``/``X-Real-IP`` (they describe
Patchbay's side, not the caller's), ``Content-Length``/``Transfer-Encoding``/``Expect``
(Patchbay frames the body it sends itself, so length games in the caller's request
cannot reach the upstream) and Patchbay's own ``Patchbay-*`` control headers. A name
that is not an RFC 9110 token or a value with CR, LF, NUL or other control characters
is refused with 400: nothing is sent.

Back to the caller, the upstream's headers except hop-by-hop ones, ``Set-Cookie`` (a
cookie of the upstream's would land on Patchbay's origin), ``Patchbay-*`` (the
upstream may not speak for Patchbay) and ``Transfer-Encoding`` (the server frames it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from core.errors import FieldError, PatchbayError

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_DROPPED_TOWARDS_UPSTREAM = frozenset(
    {
        "host",
        "authorization",
        "cookie",
        "forwarded",
        "x-real-ip",
        "content-length",
        "expect",
    }
)
_DROPPED_PREFIXES_TOWARDS_UPSTREAM = ("proxy-", "x-forwarded-", "patchbay-")
_DROPPED_BACK = frozenset({"set-cookie", "set-cookie2", "content-length"})
MAX_HEADERS = 100
MAX_HEADER_BYTES = 16_384

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _connection_named(value: str | None) -> set[str]:
    return {name.strip().lower() for name in (value or "").split(",") if name.strip()}


def _refused(name: str, message: str) -> PatchbayError:
    return PatchbayError(
        "invalid_header", message, 400, [FieldError(f"headers.{name[:64]}", message)]
    )


def headers_from_meta(meta: Mapping[str, object]) -> list[tuple[str, str]]:
    """The caller's headers out of a WSGI environ (``HTTP_X_FOO`` → ``X-Foo``)."""
    headers: list[tuple[str, str]] = []
    for key, value in meta.items():
        if key in ("CONTENT_TYPE",) and value:
            headers.append(("Content-Type", str(value)))
        elif key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), str(value)))
    return headers


def upstream_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The caller's headers that go on to the upstream (repeated names joined by ", ")."""
    pairs = list(headers)
    if len(pairs) > MAX_HEADERS or sum(len(k) + len(v) for k, v in pairs) > MAX_HEADER_BYTES:
        raise PatchbayError("invalid_header", "Too many or too large request headers.", 400)
    named = set()
    for name, value in pairs:
        if name.lower() == "connection":
            named |= _connection_named(value)
    kept: dict[str, str] = {}
    lower: dict[str, str] = {}
    for name, value in pairs:
        if not _TOKEN.match(name):
            raise _refused(name, "A header name is not an HTTP token.")
        if _BAD_VALUE.search(value):
            raise _refused(name, f"The {name} header has control characters (CR, LF, NUL…).")
        key = name.lower()
        if (
            key in HOP_BY_HOP
            or key in named
            or key in _DROPPED_TOWARDS_UPSTREAM
            or key.startswith(_DROPPED_PREFIXES_TOWARDS_UPSTREAM)
        ):
            continue
        if key in lower:
            kept[lower[key]] = f"{kept[lower[key]]}, {value.strip()}"
        else:
            lower[key] = name
            kept[name] = value.strip()
    return kept


def caller_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The upstream's response headers that go back to the caller, repeated names kept."""
    pairs = list(headers)
    named = set()
    for name, value in pairs:
        if name.lower() == "connection":
            named |= _connection_named(value)
    return [
        (name, value)
        for name, value in pairs
        if name.lower() not in HOP_BY_HOP
        and name.lower() not in named
        and name.lower() not in _DROPPED_BACK
        and not name.lower().startswith("patchbay-")
        and not _BAD_VALUE.search(value)
    ]
