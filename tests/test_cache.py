"""core.cache.DatabaseCache: Django's database cache with one-statement writes, on the
real database (the rate limits' default store)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import cache as core_cache
from tests.ratelimits import shared_store


@pytest.fixture
def store(settings: Any, db: Any) -> Any:
    settings.CACHES = shared_store()
    return caches["default"]


def test_it_sets_overwrites_and_reads_values(store: Any) -> None:
    store.set("k", [1.5, 2.5], 60)
    assert store.get("k") == [1.5, 2.5]
    store.set("k", {"again": True}, 60)
    assert store.get("k") == {"again": True}
    store.set("forever", "v", None)
    assert store.get_many(["k", "forever", "missing"]) == {"k": {"again": True}, "forever": "v"}


def test_a_set_is_one_statement(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core_cache.random, "random", lambda: 0.5)
    store.set("k", 1, 60)
    with CaptureQueriesContext(connection) as queries:
        store.set("k", 2, 60)
    assert len(queries.captured_queries) == 1
    assert store.get("k") == 2


def test_expired_values_are_gone(store: Any) -> None:
    store.set("short", "v", 1)
    time.sleep(1.1)
    assert store.get("short") is None


def test_it_still_culls_when_the_table_is_full(
    settings: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CACHES = {
        "default": {**shared_store()["default"], "OPTIONS": {"MAX_ENTRIES": 5, "CULL_FREQUENCY": 2}}
    }
    store = caches["default"]
    store.clear()
    monkeypatch.setattr(core_cache.random, "random", lambda: 0.5)  # the one-statement path
    for index in range(10):
        store.set(f"k{index}", index, 60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM patchbay_cache")
        assert cursor.fetchone()[0] == 10
    monkeypatch.setattr(core_cache.random, "random", lambda: 0.0)  # Django's, which culls
    store.set("last", "v", 60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM patchbay_cache")
        assert cursor.fetchone()[0] <= 6
    assert store.get("last") == "v"
