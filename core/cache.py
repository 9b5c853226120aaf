"""Django's database cache, with ``set`` in one statement: the rate limits' default store.

Django's ``DatabaseCache.set`` counts the table (for culling), reads the row and then
updates or inserts it, in a transaction of its own: four round trips for every counted
scope of every request. Here a ``set`` is one ``INSERT ... ON CONFLICT DO UPDATE``
(PostgreSQL and SQLite both have it) and the count-and-cull runs on about one set in
``CULL_EVERY``, through Django's own code. Reads, ``add``, ``touch``, deletes and the
table (``createcachetable``'s) are Django's. Any other database gets Django's ``set``.
"""

from __future__ import annotations

import base64
import pickle
import random
from datetime import UTC, datetime
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, router

CULL_EVERY = 100
_UPSERT_VENDORS = frozenset({"postgresql", "sqlite"})


class DatabaseCache(DjangoDatabaseCache):
    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if connection.vendor not in _UPSERT_VENDORS or random.random() < 1 / CULL_EVERY:
            super().set(key, value, timeout, version)  # counts, culls when over MAX_ENTRIES
            return
        key = self.make_and_validate_key(key, version=version)
        seconds = self.get_backend_timeout(timeout)
        expires = (
            datetime.max if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)
        ).replace(microsecond=0)
        if seconds is None:
            expires = expires.replace(tzinfo=UTC)
        value_text = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        quote = connection.ops.quote_name
        table, key_col, value_col, expires_col = (
            quote(self._table),  # type: ignore[attr-defined]  # set by BaseDatabaseCache
            quote("cache_key"),
            quote("value"),
            quote("expires"),
        )
        sql = (
            f"INSERT INTO {table} ({key_col}, {value_col}, {expires_col}) VALUES (%s, %s, %s) "  # noqa: S608 - quoted names
            f"ON CONFLICT ({key_col}) DO UPDATE SET {value_col} = EXCLUDED.{value_col}, "
            f"{expires_col} = EXCLUDED.{expires_col}"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql, [key, value_text, connection.ops.adapt_datetimefield_value(expires)]
            )
