"""Rate limits: per client address, per API key, per organisation, per connect session,
and tighter ones for minting connect sessions and for the OAuth callbacks.

Django REST framework's throttling does the counting (``SimpleRateThrottle``: a sliding
window of request times per key), on a Django cache that every process shares: the
database cache by default (the table ``patchbay_cache``, made by ``migrate``), Redis when
``REDIS_URL`` is set. The limits are the ``PATCHBAY_RATE_LIMIT_*`` settings, read at each
request; ``PATCHBAY_RATE_LIMITS=off`` switches every one of them off (load tests, bench).

A refused request answers 429 ``too_many_requests`` in the error shape with
``Retry-After`` (DRF's ``Throttled``, through ``core.api.exception_handler``; the
middleware below writes the same answer itself, before any view runs) and is logged as a
refusal with the scope and the ids it was counted under, never a token or a key.

The window is read and written without a lock, so requests arriving at the very same
moment in several processes may each see one slot left: a limit can be overshot by the
number of concurrent requests, never more. That is the usual trade of cache-based
limiting, and cheaper than a lock per request.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.throttling import SimpleRateThrottle

from core.logs import WARNING, refusal

logger = logging.getLogger(__name__)

CACHE_TABLE = "patchbay_cache"
MESSAGE = "Too many requests. Try again in {seconds} seconds."


class ScopeThrottle(SimpleRateThrottle):
    """One limit (``PATCHBAY_RATE_LIMIT_RATES[scope]``) on one identity of the caller."""

    scope: str = ""

    def __init__(self) -> None:
        # Made per request: the rate and the store are read from the settings each time
        # (DRF's are class attributes, fixed at import).
        self.rate: str | None = None
        self.cache: BaseCache = caches[settings.PATCHBAY_RATE_LIMIT_CACHE]

    def ident_of(self, request: Any, view: Any) -> str | None:
        """Who is counted under this scope; None: this limit does not apply."""
        raise NotImplementedError

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        ident = self.ident_of(request, view)
        return None if ident is None else f"rl:{self.scope}:{ident}"

    def allow_request(self, request: Any, view: Any) -> bool:
        if not settings.PATCHBAY_RATE_LIMITS:
            return True
        self.rate = settings.PATCHBAY_RATE_LIMIT_RATES[self.scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if super().allow_request(request, view):
            return True
        refusal(
            logger,
            "too_many_requests",
            level=WARNING,
            scope=self.scope,
            limit=self.rate,
            counted_as=self.ident_of(request, view),
        )
        return False

    def retry_after(self) -> int:
        return max(1, math.ceil(self.wait() or 1))


def _principal_idents(request: Any) -> dict[str, str]:
    """The caller's identities, as its authentication class names them
    (``rate_limit_idents``: ``key``, ``session``, ``organisation``); a staff user on the
    browsable API is counted as its user under ``key``."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    idents = getattr(user, "rate_limit_idents", None)
    if idents is not None:
        return dict(idents)
    return {"key": f"user:{user.pk}"}


class ApiKeyThrottle(ScopeThrottle):
    """Every API request of one API key (or one staff user)."""

    scope = "key"

    def ident_of(self, request: Any, view: Any) -> str | None:
        return _principal_idents(request).get("key")


class OrganisationThrottle(ScopeThrottle):
    """Every API and embed request made for one organisation, all its keys and sessions."""

    scope = "organisation"

    def ident_of(self, request: Any, view: Any) -> str | None:
        return _principal_idents(request).get("organisation")


class ConnectSessionThrottle(ScopeThrottle):
    """Every embed API request of one connect session."""

    scope = "session"

    def ident_of(self, request: Any, view: Any) -> str | None:
        return _principal_idents(request).get("session")


class ViewScopeThrottle(ScopeThrottle):
    """A tighter limit on some views (``rate_limit_scope`` on the view: ``session_mint``,
    ``callback``), per organisation of the caller."""

    def allow_request(self, request: Any, view: Any) -> bool:
        self.scope = getattr(view, "rate_limit_scope", "")
        if not self.scope:
            return True
        return super().allow_request(request, view)

    def ident_of(self, request: Any, view: Any) -> str | None:
        return _principal_idents(request).get("organisation")


class AddressThrottle(ScopeThrottle):
    """Requests from one client address (``REMOTE_ADDR``, or the ``X-Forwarded-For`` entry
    of ``PATCHBAY_NUM_PROXIES``), counted before authentication."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def ident_of(self, request: Any, view: Any) -> str | None:
        return self.get_ident(request)


def too_many_requests(seconds: int) -> JsonResponse:
    response = JsonResponse(
        {"code": "too_many_requests", "message": MESSAGE.format(seconds=seconds)}, status=429
    )
    response["Retry-After"] = str(seconds)
    return response


# Paths that are counted per client address, before any view (and any authentication) runs;
# the callbacks under a tighter limit of their own as well.
_LIMITED_PREFIXES = ("/api/", "/embed/", "/connections/")
_CALLBACK_SUFFIXES = ("/oauth2/callback", "/oauth1/callback")


class AddressRateLimitMiddleware:
    """Per-address limits on the API, the embed pages and API, and the callbacks.

    Here rather than in DRF because a refused key or session must count too (DRF throttles
    run after authentication), and the browser callback and widget pages are not DRF views.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if settings.PATCHBAY_RATE_LIMITS and path.startswith(_LIMITED_PREFIXES):
            scopes = ["address"]
            if path.endswith(_CALLBACK_SUFFIXES):
                scopes.append("callback")
            for scope in scopes:
                throttle = AddressThrottle(scope)
                if not throttle.allow_request(request, None):
                    return too_many_requests(throttle.retry_after())
        return self.get_response(request)
