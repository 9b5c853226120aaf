from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from organisations.tenancy import OrganisationScopedMixin


class OrganisationView(OrganisationScopedMixin):
    """The caller's organisation. Cheap: answered from the API key's own lookup."""

    @extend_schema(
        operation_id="organisation_retrieve",
        responses=inline_serializer(
            "Organisation",
            {
                "id": serializers.UUIDField(),
                "name": serializers.CharField(),
                "allowedRedirectUrls": serializers.ListField(child=serializers.CharField()),
                "createdAt": serializers.DateTimeField(),
            },
        ),
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
