"""Reads of connections. Every read is scoped to one organisation."""

from __future__ import annotations

from functools import cache
from typing import cast

from django.db import connection as db_connection
from django.db.models import Prefetch, QuerySet

from connections.models import Connection, ConnectionCredential
from connectors.models import AuthSchemeConfig, Connector
from core.errors import not_found
from core.rows import Join, Source
from core.text import parse_uuid
from credentials.models import Credential
from organisations.models import Organisation


def _with_credentials(queryset: QuerySet[Connection]) -> QuerySet[Connection]:
    """Everything a connection's representation reads, in two queries whatever the count."""
    links = ConnectionCredential.objects.select_related(
        "auth_scheme_config", "credential"
    ).order_by("position", "id")
    return queryset.select_related("connector", "end_user").prefetch_related(
        Prefetch("connection_credentials", queryset=links)
    )


def connection_list(*, organisation: Organisation) -> QuerySet[Connection]:
    """The organisation's connections with their credentials prefetched."""
    return _with_credentials(Connection.objects.filter(organisation=organisation))


def _connection_join() -> Join:
    # The end user's model through the foreign key: embed sits above this app.
    end_user = Connection._meta.get_field("end_user").related_model
    assert isinstance(end_user, type)
    return Join(
        Source(Connection, "c"),
        Source(Connector, "k"),
        Source(end_user, "u"),
        Source(ConnectionCredential, "l"),
        Source(AuthSchemeConfig, "a"),
        Source(Credential, "r"),
    )


_CONNECTION_JOIN = _connection_join()


@cache
def _connection_sql() -> str:
    c, k, u, link, a, r = _CONNECTION_JOIN.sources
    return (
        f"SELECT {_CONNECTION_JOIN.select_list()} FROM {c.table()}"  # noqa: S608
        f" JOIN {k.table()} ON k.id = c.connector_id"
        f" LEFT JOIN {u.table()} ON u.id = c.end_user_id"
        f" LEFT JOIN {link.table()} ON l.connection_id = c.id"
        f" LEFT JOIN {a.table()} ON a.id = l.auth_scheme_config_id"
        f" LEFT JOIN {r.table()} ON r.id = l.credential_id"
        " WHERE c.id = %s AND c.organisation_id = %s"
    )


def connection_get(*, organisation: Organisation, connection_id: object) -> Connection:
    """The connection with this id in ``organisation``, else 404 (malformed ids included),
    with its connector, end user and credentials (each with its config) in ONE query.

    This is the API's hottest read (every GET of a connection, every access token, every
    proxied request), so it is a hand-written join (see ``core.rows``: the ORM's
    ``select_related`` over six tables spends longer compiling its SQL than the database
    spends answering it). Credential data stays sealed until the encrypted field decrypts
    it, bound to its own row. The handful of credentials is sorted here, not in SQL.
    """
    pk = parse_uuid(connection_id)
    if pk is None:
        raise not_found("connection")
    uuid = Connection._meta.pk
    assert uuid is not None
    rows = _CONNECTION_JOIN.fetch(
        _connection_sql(),
        [
            uuid.get_db_prep_value(pk, db_connection),
            uuid.get_db_prep_value(organisation.pk, db_connection),
        ],
    )
    if not rows:
        raise not_found("connection")
    connection = cast(Connection, rows[0][0])
    connection.connector = cast(Connector, rows[0][1])
    connection.organisation = organisation
    if connection.end_user_id is not None:
        connection.end_user = rows[0][2]  # type: ignore[assignment]
    links: list[ConnectionCredential] = []
    for _c, _k, _u, link, config, credential in rows:
        if link is None:  # no credentials: the LEFT JOIN matched nothing
            continue
        assert isinstance(link, ConnectionCredential)
        link.auth_scheme_config = cast(AuthSchemeConfig, config)
        link.credential = cast(Credential, credential)
        links.append(link)
    links.sort(key=lambda link: (link.position, link.pk))
    _attach_links(connection, links)
    return connection


def _attach_links(connection: Connection, links: list[ConnectionCredential]) -> None:
    """Make ``connection.connection_credentials.all()`` answer ``links`` without a query,
    exactly as ``prefetch_related`` leaves it (a queryset with its cache filled)."""
    for link in links:
        link.connection = connection
    cached = connection.connection_credentials.all()
    cached._result_cache = links
    cached._prefetch_done = True  # type: ignore[attr-defined]  # as prefetch_related sets it
    connection._prefetched_objects_cache = {"connection_credentials": cached}  # type: ignore[attr-defined]
