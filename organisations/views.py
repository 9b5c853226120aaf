from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.openapi import READ, responses
from organisations import outputs
from organisations.models import Organisation
from organisations.tenancy import OrganisationScopedMixin


class OrganisationView(OrganisationScopedMixin):
    """The caller's organisation. Cheap: answered from the API key's own lookup."""

    permission_model = Organisation

    @extend_schema(
        operation_id="organisation_retrieve",
        responses=responses({200: outputs.Organisation}, *READ),
    )
    def get(self, request: Request, organisation_id: str) -> Response:
        return Response(outputs.Organisation.render(self.organisation))
