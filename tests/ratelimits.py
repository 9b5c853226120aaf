"""Low rate limits on a shared store, for the tests that exercise them (the test settings
raise every limit out of reach and count on a per-process cache)."""

from __future__ import annotations

import secrets
from typing import Any


def shared_store(*, redis_url: str = "") -> dict[str, Any]:
    """A CACHES setting like production's: the database cache (or Redis), with a key prefix
    of its own so that no other test's counts are seen."""
    if redis_url:
        backend: dict[str, Any] = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
        }
    else:
        backend = {
            "BACKEND": "core.cache.DatabaseCache",
            "LOCATION": "patchbay_cache",
        }
    return {"default": {**backend, "KEY_PREFIX": f"test-{secrets.token_hex(6)}"}}


def set_limits(settings: Any, **rates: str) -> None:
    """Limits ``rates`` (scope → "N/min") on the shared database cache; the others stay high."""
    settings.CACHES = shared_store()
    settings.PATCHBAY_RATE_LIMITS = True
    settings.PATCHBAY_RATE_LIMIT_RATES = {**settings.PATCHBAY_RATE_LIMIT_RATES, **rates}
