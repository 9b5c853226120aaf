"""Default connection names: what a connection is called when nobody named it.

Shared by the services and the OAuth flow package (which the services import, so the
flow cannot import them).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError, transaction

from connections.models import Connection
from connectors.models import Connector
from organisations.models import Organisation


def free_name(organisation: Organisation, connector: Connector) -> str:
    """The connector's name, or the first ``<name> (n)`` no connection of it has yet."""
    base = connector.name[:180]
    taken = set(
        Connection.objects.filter(
            organisation=organisation, connector=connector, name__startswith=base
        ).values_list("name", flat=True)
    )
    if base not in taken:
        return base
    return next(f"{base} ({n})" for n in range(2, len(taken) + 3) if f"{base} ({n})" not in taken)


def connection_create_default_named(
    *, organisation: Organisation, connector: Connector, end_user_id: Any = None
) -> Connection:
    """A new connection under the connector's first free default name. A concurrent
    connection may take that name first: then it gets a random suffix, never a 409 for a
    name nobody asked for. Call inside a transaction."""
    name = free_name(organisation, connector)
    fields = {"organisation": organisation, "connector": connector, "end_user_id": end_user_id}
    try:
        with transaction.atomic():
            return Connection.objects.create(name=name, **fields)
    except IntegrityError:
        return Connection.objects.create(name=f"{name[:185]} {secrets.token_hex(4)}", **fields)
