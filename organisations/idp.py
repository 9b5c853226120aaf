"""The IdP's signing keys: found by OIDC discovery, fetched through the outbound seam,
cached (SPEC §11).

``PATCHBAY_IDP_ISSUER`` names the issuer; its discovery document
(``{issuer}/.well-known/openid-configuration``, whose ``issuer`` must be the configured
one exactly) names the ``jwks_uri``. Both are fetched with :func:`core.outbound.session`,
so the seam's timeouts, deadline (``PATCHBAY_HTTP_IDP_DEADLINE_SECONDS``), size cap and
address rules apply: a slow, huge or HTML answer is an :class:`IdpUnavailable`, never a
hang.

Caching, per process and shared:

* A fetched key set is used for ``PATCHBAY_IDP_JWKS_MAX_AGE_SECONDS`` (an hour), kept in
  this process and in the Django cache (the rate limits' shared store), so one
  process's fetch serves the others. When it is due and the IdP cannot be reached, the
  old set is kept and the failure logged; a process that has no set at all answers 503
  and tries again at most every :data:`FAILURE_BACKOFF_SECONDS`.
* A token whose ``kid`` is not in the set (the IdP rotated its keys) triggers a refetch,
  at most once a minute (:data:`REFETCH_SECONDS`): per process by a timestamp, across
  processes by a ``cache.add`` gate. A flood of made-up kids therefore costs the IdP one
  request a minute, whatever the number of processes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches

from core import outbound
from core.jwks import published_keys
from core.logs import INFO, WARNING, refusal

logger = logging.getLogger(__name__)

REFETCH_SECONDS = 60.0
FAILURE_BACKOFF_SECONDS = 5.0
DISCOVERY_PATH = "/.well-known/openid-configuration"

# Replaced by tests that need a minute to pass.
clock = time.time


class IdpUnavailable(Exception):
    """The IdP's discovery document or key set could not be had; ``reason`` for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def configured() -> bool:
    return bool(settings.PATCHBAY_IDP_ISSUER)


def _get_json(http: Any, url: str, what: str) -> Any:
    try:
        response = http.get(url, allow_redirects=False, headers={"Accept": "application/json"})
    except outbound.OutboundError as exc:  # the seam has logged the kind
        raise IdpUnavailable(f"{what}_{exc.kind}") from None
    if response.status_code != 200:
        refusal(
            logger,
            "idp_unavailable",
            level=WARNING,
            reason=f"{what}_status",
            status=response.status_code,
        )
        raise IdpUnavailable(f"{what}_status")
    if "html" in response.headers.get("Content-Type", "").lower():
        refusal(logger, "idp_unavailable", level=WARNING, reason=f"{what}_html")
        raise IdpUnavailable(f"{what}_html")
    try:
        return response.json()
    except ValueError:
        refusal(logger, "idp_unavailable", level=WARNING, reason=f"{what}_not_json")
        raise IdpUnavailable(f"{what}_not_json") from None


def fetch_key_document(issuer: str) -> dict[str, Any]:
    """The IdP's JWKS, found through its discovery document; else :class:`IdpUnavailable`."""
    http = outbound.session(deadline=settings.PATCHBAY_HTTP_IDP_DEADLINE)
    discovery = _get_json(http, issuer.rstrip("/") + DISCOVERY_PATH, "discovery")
    if not isinstance(discovery, dict) or discovery.get("issuer") != issuer:
        # OpenID Connect Discovery §4.3: a document for another issuer is not this IdP's.
        refusal(logger, "idp_unavailable", level=WARNING, reason="discovery_issuer")
        raise IdpUnavailable("discovery_issuer")
    jwks_uri = discovery.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        refusal(logger, "idp_unavailable", level=WARNING, reason="discovery_no_jwks_uri")
        raise IdpUnavailable("discovery_no_jwks_uri")
    document = _get_json(http, jwks_uri, "jwks")
    if not isinstance(document, dict):
        refusal(logger, "idp_unavailable", level=WARNING, reason="jwks_not_a_key_set")
        raise IdpUnavailable("jwks_not_a_key_set")
    return document


@dataclass
class _Keys:
    issuer: str
    key_set: list[dict[str, Any]] | None = None  # public JWKs, as core.jwks cleans them
    fetched_at: float = float("-inf")
    refetched_at: float = float("-inf")
    failed_at: float = float("-inf")


_lock = threading.Lock()
_state: _Keys | None = None


def forget() -> None:
    """Drop this process's keys (tests; a changed issuer is noticed on its own)."""
    global _state
    with _lock:
        _state = None


def _shared_key(issuer: str, what: str) -> str:
    return f"idp:{hashlib.sha256(issuer.encode()).hexdigest()[:16]}:{what}"


def _cache() -> Any:
    return caches[settings.PATCHBAY_RATE_LIMIT_CACHE]


def _adopt(state: _Keys, document: dict[str, Any], fetched_at: float) -> bool:
    keys = published_keys(document)
    if not keys:
        refusal(logger, "idp_unavailable", level=WARNING, reason="jwks_no_usable_key")
        return False
    state.key_set, state.fetched_at = keys, fetched_at
    return True


def _from_shared(state: _Keys) -> bool:
    """Take the key set another process fetched, if it is newer than this one's."""
    shared = _cache().get(_shared_key(state.issuer, "jwks"))
    if not isinstance(shared, dict) or shared.get("fetched_at", 0) <= state.fetched_at:
        return False
    if clock() - shared["fetched_at"] >= settings.PATCHBAY_IDP_JWKS_MAX_AGE_SECONDS:
        return False
    return _adopt(state, shared["document"], shared["fetched_at"])


def _fetch(state: _Keys) -> None:
    now = clock()
    try:
        document = fetch_key_document(state.issuer)
    except IdpUnavailable:
        state.failed_at = now
        raise
    if not _adopt(state, document, now):
        state.failed_at = now
        raise IdpUnavailable("jwks_invalid")
    _cache().set(
        _shared_key(state.issuer, "jwks"),
        {"document": document, "fetched_at": now},
        timeout=int(settings.PATCHBAY_IDP_JWKS_MAX_AGE_SECONDS),
    )
    assert state.key_set is not None
    kids = ",".join(sorted(jwk["kid"] for jwk in state.key_set))[:200]
    logger.info("idp keys fetched: %d keys kids=%s", len(state.key_set), kids)


def _current(issuer: str) -> _Keys:
    """This process's keys for ``issuer``, fetched or refreshed when due."""
    global _state
    if _state is None or _state.issuer != issuer:
        _state = _Keys(issuer=issuer)
    state = _state
    now = clock()
    if now - state.fetched_at < settings.PATCHBAY_IDP_JWKS_MAX_AGE_SECONDS:
        return state
    if _from_shared(state):
        return state
    if now - state.failed_at < FAILURE_BACKOFF_SECONDS:
        if state.key_set is None:
            raise IdpUnavailable("backing_off")
        return state
    try:
        _fetch(state)
    except IdpUnavailable as exc:
        if state.key_set is None:
            raise
        refusal(logger, "idp_unavailable", level=WARNING, reason="kept_old_keys", cause=exc.reason)
    return state


def _gate_open(state: _Keys, now: float) -> bool:
    """The refetch gate every process shares: open to one of them a minute."""
    gate = _shared_key(state.issuer, "refetch")
    cache = _cache()
    if cache.add(gate, now, timeout=int(REFETCH_SECONDS)):
        return True
    # The entry outlives its minute only when the clock is not the cache's (tests).
    last = cache.get(gate)
    if isinstance(last, int | float) and now - last >= REFETCH_SECONDS:
        cache.set(gate, now, timeout=int(REFETCH_SECONDS))
        return True
    return False


def signing_keys() -> list[dict[str, Any]]:
    """The IdP's public keys (JWKs), fetched or refreshed when due.
    :class:`IdpUnavailable`: there is no key set to judge a token by."""
    with _lock:
        keys = _current(settings.PATCHBAY_IDP_ISSUER).key_set
        assert keys is not None
        return keys


def signing_keys_refetched() -> list[dict[str, Any]] | None:
    """After a token named a ``kid`` the keys lack: the IdP's keys fetched again, or None
    when a refetch is not allowed now (one a minute) or brought nothing new."""
    with _lock:
        state = _current(settings.PATCHBAY_IDP_ISSUER)
        before, now = state.key_set, clock()
        if now - state.refetched_at < REFETCH_SECONDS:
            return None  # this process refetched (or looked) less than a minute ago
        state.refetched_at = now
        # Another process may have refetched already: its keys are in the shared cache.
        if not _from_shared(state) and _gate_open(state, now):
            try:
                _fetch(state)
            except IdpUnavailable as exc:
                refusal(
                    logger, "idp_unavailable", level=INFO, reason="refetch_failed", cause=exc.reason
                )
        return None if state.key_set == before else state.key_set
