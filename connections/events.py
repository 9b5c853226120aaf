"""The webhook events about a connection, emitted alike by the services and the OAuth flow."""

from __future__ import annotations

from connections.models import Connection
from webhooks.services import event_emit


def connection_event(*, connection: Connection, type: str) -> None:
    """Emit a connection event to the organisation's webhooks, in the caller's transaction
    (queued only if it commits). Ids and status only: never a credential's data."""
    event_emit(
        organisation=connection.organisation,
        type=type,
        data={
            "connectionId": str(connection.pk),
            "connectorId": str(connection.connector_id),
            "status": connection.status,
        },
    )
