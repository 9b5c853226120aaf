"""OpenAPI description of the REST API's two bearer schemes: API keys and IdP id_tokens."""

from __future__ import annotations

from core.openapi import BearerScheme


class ApiKeyAuthenticationScheme(BearerScheme):
    target_class = "organisations.authentication.ApiKeyAuthentication"
    name = "apiKey"
    description = "An API key, `Authorization: Bearer pb_…`. Never in the query string."


class IdTokenAuthenticationScheme(BearerScheme):
    target_class = "organisations.idp_authentication.IdTokenAuthentication"
    name = "idToken"
    bearer_format = "JWT"
    description = (
        "For internal consumers: a JWT id_token from the IdP `PATCHBAY_IDP_ISSUER`, "
        "`Authorization: Bearer eyJ…`, whose `org_id` claim names the organisation."
    )
