"""Reads of connections. Every read is scoped to one organisation."""

from __future__ import annotations

from functools import cache
from typing import cast

from django.db import connection as db_connection
from django.db.models import QuerySet

from connections.models import Connection, ConnectionCredential
from connectors.models import AuthSchemeConfig, Connector
from core.errors import not_found
from core.rows import Join, Source
from core.text import parse_uuid
from credentials.models import Credential, CredentialType
from organisations.models import Organisation


def connection_list(*, organisation: Organisation) -> QuerySet[Connection]:
    """The organisation's connections, with their end users (the representation reads no
    more of the connector than its id). A page of them gets its credentials from
    :func:`connections_with_links`: two more queries, whatever the page's size."""
    return Connection.objects.filter(organisation=organisation).select_related("end_user")


_LINKS_JOIN = Join(Source(ConnectionCredential, "l"), Source(Credential, "r"))


def connections_with_links(connections: list[Connection]) -> list[Connection]:
    """Give each of ``connections`` its credentials (``credential_links``, in order, each
    with its config), in two queries whatever the page's size: the links with their
    credentials in one hand-written query (``core.rows``: ``prefetch_related`` spends more
    on a queryset per connection than the database on the rows), then the few configs
    they name, one instance each (what is computed from a config is computed once)."""
    if not connections:
        return connections
    link, r = _LINKS_JOIN.sources
    holes = ", ".join(["%s"] * len(connections))
    sql = (
        f"SELECT {_LINKS_JOIN.select_list()} FROM {link.table()}"  # noqa: S608 - no values
        f" JOIN {r.table()} ON r.id = l.credential_id WHERE l.connection_id IN ({holes})"
    )
    uuid = Connection._meta.pk
    assert uuid is not None
    params = [uuid.get_db_prep_value(c.pk, db_connection) for c in connections]
    found: dict[object, list[ConnectionCredential]] = {c.pk: [] for c in connections}
    links = []
    for row_link, credential in _LINKS_JOIN.fetch(sql, params):
        assert isinstance(row_link, ConnectionCredential)
        row_link.credential = cast(Credential, credential)
        found[row_link.connection_id].append(row_link)
        links.append(row_link)
    wanted = {x.auth_scheme_config_id for x in links}
    configs = AuthSchemeConfig.objects.in_bulk(wanted) if wanted else {}
    for row_link in links:
        row_link.auth_scheme_config = configs[row_link.auth_scheme_config_id]
    for connection in connections:
        found[connection.pk].sort(key=lambda x: (x.position, x.pk))
        connection.credential_links = found[connection.pk]  # type: ignore[attr-defined]
    return connections


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


def _connection_params(organisation: Organisation, connection_id: object) -> list[object]:
    """``c.id`` and ``c.organisation_id`` as the database takes them; 404 for a malformed id."""
    pk = parse_uuid(connection_id)
    if pk is None:
        raise not_found("connection")
    uuid = Connection._meta.pk
    assert uuid is not None
    return [
        uuid.get_db_prep_value(pk, db_connection),
        uuid.get_db_prep_value(organisation.pk, db_connection),
    ]


def connection_get(*, organisation: Organisation, connection_id: object) -> Connection:
    """The connection with this id in ``organisation``, else 404 (malformed ids included),
    with its connector, end user and credentials (each with its config) in ONE query.

    This is the API's hottest read (every GET of a connection, every access token, every
    proxied request), so it is a hand-written join (see ``core.rows``: the ORM's
    ``select_related`` over six tables spends longer compiling its SQL than the database
    spends answering it). Credential data stays sealed until the encrypted field decrypts
    it, bound to its own row. The handful of credentials is sorted here, not in SQL.
    """
    rows = _CONNECTION_JOIN.fetch(
        _connection_sql(),
        _connection_params(organisation, connection_id),
        once=3,  # the connection, its connector and end user: built from the first row only
    )
    if not rows:
        raise not_found("connection")
    connection = cast(Connection, rows[0][0])
    connection.connector = cast(Connector, rows[0][1])
    connection.organisation = organisation
    if connection.end_user_id is not None:
        connection.end_user = rows[0][2]  # type: ignore[assignment]
    links: list[ConnectionCredential] = []
    configs: dict[object, AuthSchemeConfig] = {}  # one instance per config (see the list's)
    for _c, _k, _u, link, config, credential in rows:
        if link is None:  # no credentials: the LEFT JOIN matched nothing
            continue
        assert isinstance(link, ConnectionCredential)
        assert config is not None
        link.auth_scheme_config = configs.setdefault(config.pk, cast(AuthSchemeConfig, config))
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
    connection.credential_links = links  # type: ignore[attr-defined]  # what the output reads


_TOKEN_JOIN = Join(
    Source(Connection, "c"),
    Source(ConnectionCredential, "l"),
    Source(AuthSchemeConfig, "a"),
    Source(Credential, "r"),
)


@cache
def _token_sql() -> str:
    c, link, a, r = _TOKEN_JOIN.sources
    # Only the first oauth2-token link (as connections.oauth.token_link picks it), chosen
    # in SQL: one row comes back, and is built, with 1 credential or 20 (the database
    # looks the others up by primary key to see their type, on the link's index).
    return (
        f"SELECT {_TOKEN_JOIN.select_list()} FROM {c.table()}"  # noqa: S608
        f" LEFT JOIN ({link.table()}"
        f" JOIN {r.table()} ON r.id = l.credential_id AND r.type = %s"
        f" JOIN {a.table()} ON a.id = l.auth_scheme_config_id) ON l.connection_id = c.id"
        " WHERE c.id = %s AND c.organisation_id = %s ORDER BY l.position, l.id LIMIT 1"
    )


def connection_token_link(
    *, organisation: Organisation, connection_id: object
) -> tuple[Connection, ConnectionCredential | None]:
    """The connection with this id in ``organisation`` (else 404) and its OAuth 2.0 token
    link (the first ``oauth2-token`` credential in order, with its config and credential),
    or None: ONE query, whose cost does not grow with the connection's other credentials
    (the access-token endpoint reads nothing else; ``connection_get`` reads them all)."""
    rows = _TOKEN_JOIN.fetch(
        _token_sql(),
        [CredentialType.OAUTH2_TOKEN.value, *_connection_params(organisation, connection_id)],
    )
    if not rows:
        raise not_found("connection")
    connection, link, config, credential = rows[0]
    assert isinstance(connection, Connection)
    connection.organisation = organisation
    if link is None:
        return connection, None
    assert isinstance(link, ConnectionCredential)
    link.connection = connection
    link.auth_scheme_config = cast(AuthSchemeConfig, config)
    link.credential = cast(Credential, credential)
    return connection, link
