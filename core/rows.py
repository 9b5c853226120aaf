"""Hot-path reads of one row joined across several tables, without the ORM's per-call compile.

Django compiles a queryset's SQL every time it is evaluated. For a ``select_related`` over
four tables that compile (and the bookkeeping around it) costs several times the query
itself, and the authentication of every embed request pays it. A :class:`Join` writes its
SELECT list once, from the models' own metadata, and turns each row back into model
instances exactly as the ORM would: the same backend and field converters (so encrypted
fields come back sealed, SQLite's text UUIDs become UUIDs), then ``Model.from_db``.

Kept because it pays on whole endpoints: ``bench/rows_ab.py`` serves the two callers
side by side with their ORM equivalents, and the ORM costs 1.30x (embed session
authentication, every embed request) and 1.86x (hub initialise) the worker CPU per
request (README, "Benchmarks").

Only the SELECT list is generated here; the FROM and WHERE clauses stay in the caller's
hand-written SQL, with their values always passed as parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

Converter = Callable[[Any, Any, Any], Any]
# Per source: (column index within the source, its converters, the column they are given).
_Conversions = list[list[tuple[int, list[Converter], Any]]]


@dataclass(frozen=True)
class Source:
    """One model in a join, under its table alias."""

    model: type[Model]
    alias: str

    def table(self, using: str = "default") -> str:
        """``"table" AS alias`` for the FROM clause."""
        quote = connections[using].ops.quote_name
        return f"{quote(self.model._meta.db_table)} AS {self.alias}"


class Join:
    """The columns of several models in one row, and the instances built back from it."""

    def __init__(self, *sources: Source) -> None:
        aliases = [source.alias for source in sources]
        if len(set(aliases)) != len(aliases) or not all(a.isidentifier() for a in aliases):
            raise ValueError(f"Aliases must be distinct identifiers: {aliases}")
        self.sources = sources
        self._fields = [list(s.model._meta.concrete_fields) for s in sources]
        self._attnames = [[f.attname for f in fields] for fields in self._fields]
        self._width = sum(len(names) for names in self._attnames)
        self._pk_index = [[f.primary_key for f in fields].index(True) for fields in self._fields]
        # Converters are bound to a connection (each thread has its own), so they are worked
        # out once per connection object rather than once per row.
        self._select_lists: dict[str, str] = {}
        self._conversions: WeakKeyDictionary[BaseDatabaseWrapper, _Conversions] = (
            WeakKeyDictionary()
        )

    def _conversions_for(self, connection: BaseDatabaseWrapper) -> _Conversions:
        found = self._conversions.get(connection)
        if found is None:
            found = []
            for source, fields in zip(self.sources, self._fields, strict=True):
                per_source = []
                for index, field in enumerate(fields):
                    col = field.get_col(source.alias)
                    converters = connection.ops.get_db_converters(col) + col.get_db_converters(
                        connection
                    )
                    if converters:
                        per_source.append((index, converters, col))
                found.append(per_source)
            self._conversions[connection] = found
        return found

    def select_list(self, using: str = "default") -> str:
        """``alias."column", …`` for every concrete field of every source, in order."""
        vendor = connections[using].vendor
        found = self._select_lists.get(vendor)
        if found is None:
            found = self._select_lists[vendor] = self._write_select_list(using)
        return found

    def _write_select_list(self, using: str) -> str:
        quote = connections[using].ops.quote_name
        return ", ".join(
            f"{source.alias}.{quote(field.column)}"
            for source, fields in zip(self.sources, self._fields, strict=True)
            for field in fields
        )

    def instances(
        self, row: Sequence[Any], using: str = "default", skip: int = 0
    ) -> list[Model | None]:
        """One instance per source (``None`` for a source whose primary key is NULL, as
        after a LEFT JOIN that matched nothing), with the ORM's converters applied;
        ``None`` for the first ``skip`` sources, which are not built."""
        if len(row) != self._width:
            raise ValueError(f"The row has {len(row)} columns; the join selects {self._width}.")
        connection = connections[using]
        built: list[Model | None] = []
        start = 0
        for position, (source, attnames, pk_index, conversions) in enumerate(
            zip(
                self.sources,
                self._attnames,
                self._pk_index,
                self._conversions_for(connection),
                strict=True,
            )
        ):
            values = list(row[start : start + len(attnames)])
            start += len(attnames)
            if position < skip or values[pk_index] is None:
                built.append(None)
                continue
            for index, converters, col in conversions:
                for convert in converters:
                    values[index] = convert(values[index], col, connection)
            built.append(source.model.from_db(using, attnames, values))
        return built

    def fetch(
        self, sql: str, params: Sequence[Any], using: str = "default", once: int = 0
    ) -> list[list[Model | None]]:
        """Run ``sql`` (whose SELECT list is :meth:`select_list`): the instances of each row.
        The first ``once`` sources are the same in every row (one row joined to many): they
        are built from the first row only, and are ``None`` in the others."""
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [self.instances(row, using, once if i else 0) for i, row in enumerate(rows)]
