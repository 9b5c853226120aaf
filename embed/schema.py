"""OpenAPI description of connect session authentication (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ConnectSessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "embed.authentication.ConnectSessionAuthentication"
    name = "connectSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A connect session token, `Authorization: Bearer pbs_…`, minted by "
                "`POST /api/v2/o/{organisation_id}/hubs/{hub_id}/sessions`. Embed API only."
            ),
        }
