"""Database helpers the apps share: row locks for the worker's jobs, and "in use?"."""

from __future__ import annotations

from typing import Any, TypeVar

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


def lock_batch(queryset: QuerySet[M, Any], size: int) -> list[Any]:
    """Up to ``size`` rows of ``queryset`` (e.g. a ``values_list``) no other transaction
    holds, locked until the caller's transaction ends; call inside one. As
    :func:`lock_next`, for a batch: one ``SELECT … LIMIT n FOR UPDATE SKIP LOCKED``."""
    features = db_connection.features
    if features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    elif features.has_select_for_update:
        queryset = queryset.select_for_update()
    return list(queryset[:size])


def is_protected(instance: models.Model) -> bool:
    """Whether a row points at ``instance`` through an ``on_delete=PROTECT`` foreign key.

    How an app asks "does anything above me still use this row?" without importing the
    app above: the foreign key that app declares says so (one ``EXISTS`` per such key).
    Deleting a protected row raises ``ProtectedError``; this asks without deleting.
    """
    return any(
        relation.related_model._default_manager.filter(**{relation.field.name: instance}).exists()
        for relation in instance._meta.related_objects
        if relation.on_delete is models.PROTECT and not isinstance(relation.related_model, str)
    )


def is_referenced(instance: models.Model) -> bool:
    """Whether a row points at ``instance`` through a foreign key that would not go with it:
    ``PROTECT``, ``SET_NULL`` and the like (not ``CASCADE``).

    For a row that nothing *names* any more but that may still be *relied on*: a client
    credential that a connection's token is refreshed with points back through a
    ``SET_NULL`` key, which deleting it would quietly clear.
    """
    relations = [  # hidden ones too (``related_name="+"``), which related_objects leaves out
        field
        for field in instance._meta.get_fields(include_hidden=True)
        if isinstance(field, models.ForeignObjectRel) and not field.many_to_many
    ]
    return any(
        relation.related_model._default_manager.filter(**{relation.field.name: instance}).exists()
        for relation in relations
        if relation.on_delete is not models.CASCADE and not isinstance(relation.related_model, str)
    )
