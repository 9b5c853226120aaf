"""``Patchbay-Retries: N`` (SPEC §9.1): when, and how long to wait, before trying again.

Only requests that are safe to send twice are retried: GET, HEAD, PUT, DELETE, and any
method that carries an ``Idempotency-Key`` (the upstream then dedupes). A POST without
one is never retried, whatever ``N`` says. Retried: connection errors and timeouts (no
answer), and answers 429, 502, 503, 504. The wait is exponential backoff with full
jitter (``BASE * 2**attempt``, at most ``CAP``), and never shorter than what the upstream
asked for in ``Retry-After`` (seconds or an HTTP date) or a rate-limit reset header
(``RateLimit-Reset``/``X-RateLimit-Reset``: seconds to wait, or a unix time when it is
larger than now). A retry whose wait would end past the proxy's deadline is not made:
the last answer goes back to the caller as it is.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from core.errors import FieldError, PatchbayError

MAX_RETRIES = 5
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
BASE = 0.2
CAP = 10.0
_RESET_HEADERS = ("retry-after", "ratelimit-reset", "x-ratelimit-reset", "x-rate-limit-reset")


def retries_parse(value: str | None) -> int:
    """The ``Patchbay-Retries`` header: absent is 0; ``0``…``5``; anything else is 400."""
    if value is None:
        return 0
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= MAX_RETRIES:
        message = f"Patchbay-Retries must be a whole number from 0 to {MAX_RETRIES}."
        raise PatchbayError(
            "invalid_header", message, 400, [FieldError("headers.Patchbay-Retries", message)]
        )
    return int(text)


def retryable_method(method: str, headers: dict[str, str]) -> bool:
    return method.upper() in IDEMPOTENT_METHODS or any(
        name.lower() == "idempotency-key" for name in headers
    )


def asked_wait(headers: Callable[[str], str | None], *, now: float | None = None) -> float | None:
    """Seconds the upstream asked us to wait, from the first header that says so."""
    now = time.time() if now is None else now
    for name in _RESET_HEADERS:
        raw = headers(name)
        if raw is None:
            continue
        raw = raw.strip()
        try:
            seconds = float(raw)
        except ValueError:
            if name != "retry-after":
                continue
            try:
                seconds = parsedate_to_datetime(raw).timestamp() - now
            except (TypeError, ValueError, IndexError, OverflowError):
                continue
        else:
            if seconds > 1e9:  # a unix time, not a number of seconds
                seconds -= now
        if seconds != seconds:  # NaN
            continue
        return max(0.0, seconds)
    return None


def backoff(attempt: int, asked: float | None) -> float:
    """How long to wait before retry number ``attempt`` (0-based)."""
    jittered = random.uniform(0, min(CAP, BASE * 2**attempt))  # jitter, not a secret
    return max(jittered, asked) if asked is not None else jittered
