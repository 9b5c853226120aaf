from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.openapi import READ, responses
from organisations.openapi import OrganisationSerializer
from organisations.tenancy import OrganisationScopedMixin


class OrganisationView(OrganisationScopedMixin):
    """The caller's organisation. Cheap: answered from the API key's own lookup."""

    @extend_schema(
        operation_id="organisation_retrieve",
        responses=responses({200: OrganisationSerializer}, *READ),
    )
    def get(self, request: Request, organisation_id: str) -> Response:
        organisation = self.organisation
        return Response(
            {
                "id": str(organisation.pk),
                "name": organisation.name,
                "allowedRedirectUrls": organisation.allowed_redirect_urls,
                "createdAt": organisation.created_at.isoformat().replace("+00:00", "Z"),
            }
        )
