"""The webhooks API: endpoints of the caller's organisation and their deliveries."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import CursorPagination, require_no_body
from core.openapi import LIST, READ, WRITE, responses
from organisations.tenancy import OrganisationScopedViewSet
from webhooks import outputs
from webhooks.inputs import WebhookEndpointCreate, WebhookEndpointUpdate, WebhookSecretRotate
from webhooks.models import WebhookEndpoint
from webhooks.selectors import delivery_get, delivery_list, endpoint_list
from webhooks.services import (
    delivery_redeliver,
    endpoint_create,
    endpoint_delete,
    endpoint_secret_rotate,
    endpoint_update,
)

# The pagination's own parameters (``first`` 1-100, ``after``): a list action is not a
# ``list``, so drf-spectacular leaves them out.
_PAGE_PARAMETERS = [
    OpenApiParameter(p["name"], p["schema"], OpenApiParameter.QUERY, description=p["description"])
    for p in CursorPagination().get_schema_operation_parameters(None)
]


@extend_schema_view(
    list=extend_schema(
        operation_id="webhooks_list",
        responses=responses({200: outputs.WebhookEndpointPage}, *LIST),
    ),
    create=extend_schema(
        operation_id="webhooks_create",
        request=WebhookEndpointCreate,
        responses=responses({201: outputs.WebhookEndpointCreated}, *WRITE),
        description="The response holds the endpoint's `secret`: it is never shown again.",
    ),
    retrieve=extend_schema(
        operation_id="webhooks_retrieve",
        responses=responses({200: outputs.WebhookEndpoint}, *READ),
    ),
    partial_update=extend_schema(
        operation_id="webhooks_update",
        request=WebhookEndpointUpdate,
        responses=responses({200: outputs.WebhookEndpoint}, *WRITE),
    ),
    destroy=extend_schema(operation_id="webhooks_delete", responses=responses({204: None}, *READ)),
)
class WebhookEndpointViewSet(OrganisationScopedViewSet):
    """Webhook endpoints of the caller's organisation; secrets are shown once (create, rotate)."""

    lookup_url_kwarg = "webhook_id"
    permission_model = WebhookEndpoint
    staff_permissions = {
        "rotate_secret": ("webhooks.change_webhookendpoint",),
        "deliveries": ("webhooks.view_webhookdelivery",),
        "redeliver": ("webhooks.add_webhookdelivery",),
    }

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return WebhookEndpoint.objects.none()
        return endpoint_list(organisation=self.organisation)

    def _endpoint(self) -> WebhookEndpoint:
        endpoint = self.get_object()
        assert isinstance(endpoint, WebhookEndpoint)
        return endpoint

    def list(self, request: Request, organisation_id: str) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response([outputs.WebhookEndpoint.render(e) for e in page])

    def create(self, request: Request, organisation_id: str) -> Response:
        organisation = self.organisation  # 404 for other organisations before reading the body
        body = WebhookEndpointCreate.parse(request.data)
        created = endpoint_create(organisation=organisation, **body)
        return Response(
            outputs.WebhookEndpointCreated.render(created.endpoint),
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )

    def retrieve(self, request: Request, organisation_id: str, webhook_id: str) -> Response:
        return Response(outputs.WebhookEndpoint.render(self._endpoint()))

    def partial_update(self, request: Request, organisation_id: str, webhook_id: str) -> Response:
        endpoint = self._endpoint()
        endpoint = endpoint_update(endpoint=endpoint, **WebhookEndpointUpdate.parse(request.data))
        return Response(outputs.WebhookEndpoint.render(endpoint))

    def destroy(self, request: Request, organisation_id: str, webhook_id: str) -> Response:
        endpoint_delete(endpoint=self._endpoint())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="webhooks_rotate_secret",
        request=WebhookSecretRotate,
        responses=responses({200: outputs.WebhookSecret}, *WRITE),
        description="A new signing secret, shown only here. The old one keeps signing "
        "beside it (a second signature in `webhook-signature`) for `overlapSeconds`.",
    )
    def rotate_secret(self, request: Request, organisation_id: str, webhook_id: str) -> Response:
        endpoint = self._endpoint()
        values = WebhookSecretRotate.parse(request.data if request.body else {})
        rotated = endpoint_secret_rotate(endpoint=endpoint, **values)
        return Response(
            outputs.WebhookSecret.render(rotated), headers={"Cache-Control": "no-store"}
        )

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        parameters=_PAGE_PARAMETERS,
        responses=responses({200: outputs.WebhookDeliveryPage}, *LIST),
    )
    def deliveries(self, request: Request, organisation_id: str, webhook_id: str) -> Response:
        page = self.paginate_queryset(delivery_list(endpoint=self._endpoint())) or []
        return self.get_paginated_response([outputs.WebhookDelivery.render(d) for d in page])

    @extend_schema(
        operation_id="webhooks_deliveries_redeliver",
        request=None,
        responses=responses(
            {202: outputs.WebhookDelivery},
            *READ,
            409,
            text={409: "`endpoint_inactive`: the endpoint is disabled; enable it first."},
        ),
    )
    def redeliver(
        self, request: Request, organisation_id: str, webhook_id: str, delivery_id: str
    ) -> Response:
        delivery = delivery_get(endpoint=self._endpoint(), delivery_id=delivery_id)
        require_no_body(request)
        queued = delivery_redeliver(delivery=delivery)
        queued = delivery_get(endpoint=queued.endpoint, delivery_id=queued.pk)
        return Response(outputs.WebhookDelivery.render(queued), status=status.HTTP_202_ACCEPTED)
