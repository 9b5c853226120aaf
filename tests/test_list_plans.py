"""Every list reads a page, not the organisation: PostgreSQL's own plan for a deep page.

Each list API is asked for a page far from the start of an organisation with many rows
(and another organisation beside it), the SQL it ran is taken from the connection, and
``EXPLAIN (ANALYZE, FORMAT JSON)`` runs it again: the list's table must be read by an
index scan that returns about a page of rows (``first`` + 1), with no sequential scan
and no sort of the whole organisation. The table is ANALYZEd first, as autovacuum
keeps it (with no statistics at all, a few thousand rows look few enough to PostgreSQL
to be read whole and sorted, which at 100k rows it no longer does).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connections.models import Connection
from connectors.models import Connector
from core.api import _encode_cursor
from credentials.models import Credential
from embed.models import EndUser, Hub
from organisations.models import Organisation
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.postgres_only

ROWS = 3000  # the organisation under test
OTHER = 1000  # another organisation's, interleaved in time
PAGE = 20
DEPTH = 100  # the page asked for: rows 2,000-2,020 of 3,000


def _times(count: int) -> Iterator[datetime]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return (start + timedelta(seconds=i) for i in range(count))


def _bulk(model: Any, count: int, **fields: Any) -> list[Any]:
    rows = [model(pk=uuid.uuid4(), created_at=at, **fields) for at in _times(count)]
    for i, row in enumerate(rows):
        for name in ("name", "external_id"):
            if hasattr(row, name) and name not in fields:
                setattr(row, name, f"{name}-{i}")
    return model.objects.bulk_create(rows, batch_size=1000)


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def _explain(sql: str) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        (raw,) = cursor.fetchone()
    document = raw if isinstance(raw, list) else json.loads(raw)
    return list(_plan_nodes(document[0]["Plan"]))


def _deep_page_sql(alice: Any, path: str, model: Any, params: dict[str, str], **rows: Any) -> str:
    """The SQL of page ``DEPTH`` of ``path``: its cursor is the API's own encoding of the
    last row of the page before (as the previous page's ``endCursor`` would be)."""
    before = model.objects.filter(**rows).order_by("created_at", "id")[DEPTH * PAGE - 1]
    query = {"first": str(PAGE), "after": _encode_cursor(before), **params}
    with CaptureQueriesContext(connection) as queries:
        response = alice.client.get(alice.url(path), query)
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["items"]) == PAGE
    assert body["pageInfo"]["hasNextPage"]
    table = model._meta.db_table
    page_query = [
        q["sql"]
        for q in queries.captured_queries
        if f'FROM "{table}"' in q["sql"] and "LIMIT" in q["sql"] and "ORDER BY" in q["sql"]
    ]
    assert len(page_query) == 1, queries.captured_queries
    return page_query[0]


def assert_reads_a_page(sql: str, table: str) -> None:
    with connection.cursor() as cursor:  # the statistics autovacuum keeps
        cursor.execute(f'ANALYZE "{table}"')
    nodes = _explain(sql)
    on_table = [n for n in nodes if n.get("Relation Name") == table]
    assert on_table, nodes
    for node in on_table:
        assert node["Node Type"] in ("Index Scan", "Index Only Scan"), node["Node Type"]
        # The scan stops after the page (+1 to know whether there is a next one).
        assert node["Actual Rows"] * node["Actual Loops"] <= PAGE + 1, node
        assert node.get("Rows Removed by Filter", 0) <= PAGE, node
    assert not [n for n in nodes if n["Node Type"] == "Sort"], "sorted the organisation"


@pytest.fixture
def other(db: Any) -> Organisation:
    return Organisation.objects.create(name="Neighbours")


def test_connections_page_deep_reads_a_page(alice, other):
    for organisation, count in ((alice.organisation, ROWS), (other, OTHER)):
        connector = Connector.objects.create(organisation=organisation, name="c")
        _bulk(Connection, count, organisation=organisation, connector=connector)
    rows = {"organisation": alice.organisation}
    sql = _deep_page_sql(alice, "connections", Connection, {}, **rows)
    assert_reads_a_page(sql, "connections_connection")


def test_connectors_page_deep_reads_a_page(alice, other):
    for organisation, count in ((alice.organisation, ROWS), (other, OTHER)):
        _bulk(Connector, count, organisation=organisation)
    rows = {"organisation": alice.organisation}
    sql = _deep_page_sql(alice, "connectors", Connector, {}, **rows)
    assert_reads_a_page(sql, "connectors_connector")


@pytest.mark.parametrize("params", [{}, {"type": "string"}])
def test_credentials_page_deep_reads_a_page(alice, other, params):
    for organisation, count in ((alice.organisation, ROWS), (other, OTHER)):
        _bulk(Credential, count, organisation=organisation, type="string", data={"value": "v"})
        _bulk(Credential, count // 3, organisation=organisation, type="none", data={})
    rows = {"organisation": alice.organisation, "type": "string"}
    sql = _deep_page_sql(alice, "credentials", Credential, params, **rows)
    assert_reads_a_page(sql, "credentials_credential")


def test_hubs_and_end_users_pages_deep_read_a_page(alice, other):
    for organisation, count in ((alice.organisation, ROWS), (other, OTHER)):
        _bulk(Hub, count, organisation=organisation)
    hub = Hub.objects.filter(organisation=alice.organisation).first()
    neighbour = Hub.objects.filter(organisation=alice.organisation).last()
    assert hub is not None
    assert neighbour is not None
    _bulk(EndUser, ROWS, organisation=alice.organisation, hub=hub)
    _bulk(EndUser, OTHER, organisation=alice.organisation, hub=neighbour)
    rows = {"organisation": alice.organisation}
    assert_reads_a_page(_deep_page_sql(alice, "hubs", Hub, {}, **rows), "embed_hub")
    sql = _deep_page_sql(alice, f"hubs/{hub.pk}/users", EndUser, {}, hub=hub)
    assert_reads_a_page(sql, "embed_enduser")


def test_webhook_endpoints_and_deliveries_pages_deep_read_a_page(alice, other):
    for organisation, count in ((alice.organisation, ROWS), (other, OTHER)):
        _bulk(WebhookEndpoint, count, organisation=organisation, url="https://h.example/")
    endpoint = WebhookEndpoint.objects.filter(organisation=alice.organisation).first()
    neighbour = WebhookEndpoint.objects.filter(organisation=alice.organisation).last()
    assert endpoint is not None
    assert neighbour is not None
    event = Event.objects.create(organisation=alice.organisation, type="connection.created")
    for target, count in ((endpoint, ROWS), (neighbour, OTHER)):
        _bulk(WebhookDelivery, count, organisation=alice.organisation, endpoint=target, event=event)
    rows = {"organisation": alice.organisation}
    sql = _deep_page_sql(alice, "webhooks", WebhookEndpoint, {}, **rows)
    assert_reads_a_page(sql, "webhooks_webhookendpoint")
    path = f"webhooks/{endpoint.pk}/deliveries"
    sql = _deep_page_sql(alice, path, WebhookDelivery, {}, endpoint=endpoint)
    assert_reads_a_page(sql, "webhooks_webhookdelivery")
