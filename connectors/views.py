"""The connectors API (SPEC §4): parse, call a service, answer the representation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from connectors import outputs
from connectors.inputs import (
    AuthSchemeConfig,
    ConnectorCreate,
    ConnectorUpdate,
    auth_scheme_config_put_body,
)
from connectors.models import Connector
from connectors.selectors import auth_scheme_config_get, connector_get, connector_list
from connectors.services import (
    auth_scheme_config_delete,
    auth_scheme_config_put,
    connector_create,
    connector_delete,
    connector_update,
)
from core.openapi import DELETE, LIST, READ, WRITE, responses
from organisations.tenancy import OrganisationScopedMixin, OrganisationScopedViewSet

_CONFLICT = {409: "`conflict`: the name is taken; `auth_scheme_config_in_use`: a config a "
             "connection uses would be removed or change type."}  # fmt: skip


@extend_schema_view(
    list=extend_schema(
        operation_id="connectors_list", responses=responses({200: outputs.ConnectorPage}, *LIST)
    ),
    create=extend_schema(
        operation_id="connectors_create",
        request=ConnectorCreate,
        responses=responses({201: outputs.Connector}, *WRITE, 409, text=_CONFLICT),
    ),
    retrieve=extend_schema(
        operation_id="connectors_retrieve", responses=responses({200: outputs.Connector}, *READ)
    ),
    partial_update=extend_schema(
        operation_id="connectors_update",
        request=ConnectorUpdate,
        responses=responses({200: outputs.Connector}, *WRITE, 409, text=_CONFLICT),
    ),
    destroy=extend_schema(
        operation_id="connectors_delete",
        responses=responses(
            {204: None}, *DELETE, text={409: "`connector_in_use`: connections use it."}
        ),
    ),
)
class ConnectorViewSet(OrganisationScopedViewSet):
    """Connectors of the caller's organisation, with their auth scheme configs (SPEC §4)."""

    lookup_url_kwarg = "connector_id"
    permission_model = Connector

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Connector.objects.none()
        return connector_list(organisation=self.organisation)

    def list(self, request: Request, organisation_id: str) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response([outputs.Connector.render(c) for c in page])

    def create(self, request: Request, organisation_id: str) -> Response:
        organisation = self.organisation  # 404 for other organisations before reading the body
        connector = connector_create(
            organisation=organisation, **ConnectorCreate.parse(request.data)
        )
        connector = connector_get(organisation=organisation, connector_id=connector.pk)
        return Response(outputs.Connector.render(connector), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, organisation_id: str, connector_id: str) -> Response:
        return Response(outputs.Connector.render(self._connector()))

    def partial_update(self, request: Request, organisation_id: str, connector_id: str) -> Response:
        connector = self._connector()
        connector_update(connector=connector, **ConnectorUpdate.parse(request.data))
        connector = connector_get(organisation=self.organisation, connector_id=connector.pk)
        return Response(outputs.Connector.render(connector))

    def destroy(self, request: Request, organisation_id: str, connector_id: str) -> Response:
        connector_delete(connector=self._connector())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _connector(self) -> Connector:
        connector = self.get_object()
        assert isinstance(connector, Connector)
        return connector


class AuthSchemeConfigView(OrganisationScopedMixin):
    """``PUT`` creates or replaces the config with the client-chosen id; ``DELETE`` removes it."""

    # A config is part of its connector (an inline of the connector's admin page).
    staff_permissions = {"*": ("connectors.change_connector",)}

    @extend_schema(
        operation_id="auth_scheme_configs_put",
        request=AuthSchemeConfig,
        responses=responses(
            {
                200: OpenApiResponse(outputs.AuthSchemeConfig, description="Replaced."),
                201: OpenApiResponse(outputs.AuthSchemeConfig, description="Created."),
            },
            *WRITE,
            409,
            text={
                409: "`auth_scheme_config_in_use`: a connection uses the config and the "
                "type would change."
            },
        ),
    )
    def put(
        self, request: Request, organisation_id: str, connector_id: str, config_id: str
    ) -> Response:
        connector = connector_get(organisation=self.organisation, connector_id=connector_id)
        scheme = auth_scheme_config_put_body(config_id=config_id, data=request.data)
        config, created = auth_scheme_config_put(connector=connector, scheme=scheme)
        return Response(
            outputs.AuthSchemeConfig.render(config),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="auth_scheme_configs_delete",
        responses=responses(
            {204: None}, *DELETE, text={409: "`auth_scheme_config_in_use`: a connection uses it."}
        ),
    )
    def delete(
        self, request: Request, organisation_id: str, connector_id: str, config_id: str
    ) -> Response:
        connector = connector_get(organisation=self.organisation, connector_id=connector_id)
        config = auth_scheme_config_get(connector=connector, config_id=config_id)
        auth_scheme_config_delete(auth_scheme_config=config)
        return Response(status=status.HTTP_204_NO_CONTENT)
