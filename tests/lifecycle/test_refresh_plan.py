"""The worker's batch claim reads about a batch of rows from the partial index
``credential_refresh_due``, on statistics taken while the tables were empty (as right after
a bulk import, before autovacuum has analysed anything): ``EXPLAIN`` on PostgreSQL, for the
plan PostgreSQL picks with the values in the query and for the generic plan that prepared
statements (server-side binding, as in production) come to."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import psycopg.sql
import pytest
from django.db import connection
from django.utils import timezone

from bench.worker import TABLES, refresh_setup, tokens_load
from connections.oauth.refresh_due import BATCH_SIZE, refresh_candidates

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]

DUE, PARKED, LATER = 300, 50, 3000


@pytest.fixture
def stale_statistics() -> None:
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")  # empty: what the planner will believe
    setup = refresh_setup("https://provider.example/token", "plan")
    tokens_load(setup, LATER, expires_in=timedelta(days=1), label="later")
    tokens_load(setup, PARKED, expires_in=-timedelta(hours=2), status="needs_reauth", label="p")
    tokens_load(setup, DUE, expires_in=-timedelta(minutes=1), label="due")


def _claim_sql() -> tuple[str, list[Any]]:
    due = refresh_candidates(now=timezone.now(), horizon=timedelta(minutes=5))
    sql, params = due.values_list("pk", flat=True)[:BATCH_SIZE].query.sql_with_params()
    return f"{sql} FOR UPDATE SKIP LOCKED", list(params)


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


def _explain(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")  # as the claim does
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params or None)
        raw = cursor.fetchone()[0]
    plan = json.loads(raw) if isinstance(raw, str) else raw
    return _nodes(plan[0]["Plan"])


def _assert_on_the_index(nodes: list[dict[str, Any]]) -> None:
    kinds = [node["Node Type"] for node in nodes]
    assert "Seq Scan" not in kinds, kinds
    assert "Sort" not in kinds, kinds  # the index's order is the query's
    [scan] = [node for node in nodes if node.get("Relation Name") == "credentials_credential"]
    assert scan["Node Type"] == "Index Scan"
    assert scan["Index Name"] == "credential_refresh_due"
    # About a batch: the batch itself and the parked tokens ahead of it, not the table.
    assert scan["Actual Rows"] == BATCH_SIZE
    assert scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0) <= BATCH_SIZE + PARKED


def test_the_claim_reads_a_batch_from_the_partial_index_on_stale_statistics(stale_statistics):
    sql, params = _claim_sql()
    _assert_on_the_index(_explain(sql, params))


def _sql_type(value: object) -> str:
    return "timestamptz" if isinstance(value, datetime) else "text"  # text enums too


def test_the_generic_plan_of_the_prepared_claim_stays_on_the_index(stale_statistics):
    sql, params = _claim_sql()
    numbered = iter(range(1, len(params) + 1))
    prepared = re.sub(r"%s", lambda _match: f"${next(numbered)}", sql)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        types = ", ".join(_sql_type(value) for value in params)
        cursor.execute(f"PREPARE refresh_claim_plan ({types}) AS {prepared}")
    try:
        raw = connection.connection
        literals = ", ".join(psycopg.sql.Literal(value).as_string(raw) for value in params)
        _assert_on_the_index(_explain(f"EXECUTE refresh_claim_plan({literals})", []))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE refresh_claim_plan")
