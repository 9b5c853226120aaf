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
    """The connection with this id in ``organisation``, else 404 (malformed ids included)."""
    pk = parse_uuid(connection_id)
    if pk is None:
        raise not_found("connection")
    connection = connection_list(organisation=organisation).filter(pk=pk).first()
    if connection is None:
        raise not_found("connection")
    return connection
