"""Database helpers the apps share: row locks for the worker's jobs."""

from __future__ import annotations

from typing import TypeVar

from django.db import connection as db_connection
from django.db import models
from django.db.models import QuerySet

M = TypeVar("M", bound=models.Model)


def lock_next(queryset: QuerySet[M]) -> M | None:
    """The first row of ``queryset`` no other transaction holds, locked; call inside one.

    ``SELECT ... FOR UPDATE SKIP LOCKED`` where the database has it (PostgreSQL), so
    concurrent workers on any number of machines take different rows. SQLite has no row
    locks (Django ignores ``select_for_update`` there) and serialises writers: fine for
    the single worker it is meant for.
    """
    features = db_connection.features
    if features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    elif features.has_select_for_update:
        queryset = queryset.select_for_update()
    return queryset.first()
