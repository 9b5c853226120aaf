"""OpenAPI description of the REST API's two bearer schemes: API keys and IdP id_tokens."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "organisations.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key, `Authorization: Bearer pb_…`. Never in the query string.",
        }


class IdTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "organisations.idp_authentication.IdTokenAuthentication"
    name = "idToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "For internal consumers: a JWT id_token from the IdP `PATCHBAY_IDP_ISSUER`, "
                "`Authorization: Bearer eyJ…`, whose `org_id` claim names the organisation."
            ),
        }
