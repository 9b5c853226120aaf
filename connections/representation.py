"""The API shape of a connection (SPEC §4, seed 004)."""

from __future__ import annotations

from typing import Any

from connections.models import Connection
from connectors.outputs import AuthSchemeConfig
from core.time import iso
from credentials.representation import credential_repr


def connection_repr(connection: Connection) -> dict[str, Any]:
    """``{id, name, credentials: [{id, authSchemeConfig, credential}], baseUrl, createdAt,
    updatedAt, systemId, connectionTemplateId, status, endUser}``.

    Read through :mod:`connections.selectors` so the credentials are prefetched: the
    query count does not grow with the number of credentials. Secrets never appear
    (``credential_repr`` leaves them out).
    """
    return {
        "id": str(connection.pk),
        "name": connection.name,
        "credentials": [
            {
                "id": str(link.pk),
                "authSchemeConfig": AuthSchemeConfig.render(link.auth_scheme_config),
                "credential": credential_repr(link.credential),
            }
            for link in connection.connection_credentials.all()
        ],
        "baseUrl": connection.base_url,
        "createdAt": iso(connection.created_at),
        "updatedAt": iso(connection.updated_at),
        "systemId": str(connection.connector_id),
        "connectionTemplateId": connection.connection_template_id or None,
        "status": connection.status,
        "endUser": (
            {"id": str(connection.end_user.pk), "externalId": connection.end_user.external_id}
            if connection.end_user_id is not None and connection.end_user is not None
            else None
        ),
    }
