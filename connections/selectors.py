"""Reads of connections. Every read is scoped to one organisation."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from connections.models import Connection, ConnectionCredential
from core.errors import not_found
from core.text import parse_uuid
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


def connection_get(*, organisation: Organisation, connection_id: object) -> Connection:
    """The connection with this id in ``organisation``, else 404 (malformed ids included).

    This is the API's hottest read, so it costs one query when the connection has
    credentials (the links, each joined to its connection, config and credential) and
    two when it has none, instead of a connection query plus a prefetch.
    """
    pk = parse_uuid(connection_id)
    if pk is None:
        raise not_found("connection")
    # Sorted here, not in SQL: a connection has a handful of credentials, and compiling an
    # ORDER BY over a four-table select costs Django more than the whole sort.
    links = sorted(
        ConnectionCredential.objects.filter(connection_id=pk, connection__organisation=organisation)
        .select_related(
            "connection__connector", "connection__end_user", "auth_scheme_config", "credential"
        )
        .order_by(),
        key=lambda link: (link.position, link.pk),
    )
    if links:
        connection = links[0].connection
    else:
        found = (
            Connection.objects.filter(organisation=organisation, pk=pk)
            .select_related("connector", "end_user")
            .first()
        )
        if found is None:
            raise not_found("connection")
        connection = found
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
