"""The PostgreSQL backend's health check (core/postgresql/base.py): no round trip, and a
connection the server has closed is still noticed and replaced before a request uses it."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _terminate(pid: int) -> None:
    """Have the server end backend ``pid``, from a connection of our own, and wait until
    it is gone."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if row.fetchone() == (0,):
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} still there")


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_settings_use_the_patchbay_backend():
    assert settings.DATABASES["default"]["ENGINE"] == "core.postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_an_open_idle_connection_is_usable_without_a_query():
    _backend_pid()  # connected
    with CaptureQueriesContext(connection) as queries:
        assert connection.is_usable() is True
    assert len(queries) == 0
    # psycopg's own view: no statement was sent either (still idle, nothing in flight).
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_a_connection_the_server_closed_is_unusable_and_replaced_before_use():
    pid = _backend_pid()
    assert connection.is_usable() is True
    _terminate(pid)
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:  # its FATAL/FIN arrives
        time.sleep(0.02)
    assert connection.is_usable() is False
    # What Django does before a request's first query: the check fails, the connection is
    # closed, and the next cursor opens a new one: the query succeeds on a new backend.
    connection.health_check_done = False  # type: ignore[attr-defined]
    connection.close_if_health_check_failed()
    assert connection.connection is None
    assert _backend_pid() != pid


def test_a_closed_connection_is_unusable():
    _backend_pid()
    connection.connection.close()
    assert connection.is_usable() is False
    connection.close()  # let Django open a new one for the teardown
