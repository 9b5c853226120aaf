"""The connectors API (SPEC §4): parse, call a service, answer the representation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from connectors.models import Connector
from connectors.openapi import ConnectorPageSerializer, ConnectorSerializer, auth_scheme_config
from connectors.representation import auth_scheme_config_repr, connector_repr
from connectors.selectors import auth_scheme_config_get, connector_get, connector_list
from connectors.services import (
    UNSET,
    auth_scheme_config_delete,
    auth_scheme_config_put,
    connector_create,
    connector_delete,
    connector_update,
)
from core.openapi import DELETE, LIST, READ, WRITE, responses
from core.validation import json_object
from organisations.tenancy import OrganisationScopedMixin, OrganisationScopedViewSet

WRITABLE = frozenset({"name", "baseUrl", "authSchemeConfigs"})
READ_ONLY = frozenset({"id", "createdAt", "updatedAt"})


def _body(request: Request) -> dict[str, Any]:
    return json_object(request.data, allowed=WRITABLE | READ_ONLY)


_CONFLICT = {409: "`conflict`: the name is taken; `auth_scheme_config_in_use`: a config a "
             "connection uses would be removed or change type."}  # fmt: skip


@extend_schema_view(
    list=extend_schema(
        operation_id="connectors_list", responses=responses({200: ConnectorPageSerializer}, *LIST)
    ),
    create=extend_schema(
        operation_id="connectors_create",
        request=ConnectorSerializer,
        responses=responses({201: ConnectorSerializer}, *WRITE, 409, text=_CONFLICT),
    ),
    retrieve=extend_schema(
        operation_id="connectors_retrieve", responses=responses({200: ConnectorSerializer}, *READ)
    ),
    partial_update=extend_schema(
        operation_id="connectors_update",
        request=ConnectorSerializer,
        responses=responses({200: ConnectorSerializer}, *WRITE, 409, text=_CONFLICT),
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

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Connector.objects.none()
        return connector_list(organisation=self.organisation)

    def list(self, request: Request, organisation_id: str) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response([connector_repr(c) for c in page])

    def create(self, request: Request, organisation_id: str) -> Response:
        organisation = self.organisation  # 404 for other organisations before reading the body
        body = _body(request)
        connector = connector_create(
            organisation=organisation,
            name=body.get("name", ""),  # validated by the service
            base_url=body.get("baseUrl") or "",
            auth_scheme_configs=body.get("authSchemeConfigs"),
        )
        connector = connector_get(organisation=organisation, connector_id=connector.pk)
        return Response(connector_repr(connector), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, organisation_id: str, connector_id: str) -> Response:
        return Response(connector_repr(self._connector()))

    def partial_update(self, request: Request, organisation_id: str, connector_id: str) -> Response:
        connector = self._connector()
        body = _body(request)
        connector_update(
            connector=connector,
            name=body.get("name", UNSET),
            base_url=body.get("baseUrl", UNSET),
            auth_scheme_configs=body.get("authSchemeConfigs", UNSET),
        )
        connector = connector_get(organisation=self.organisation, connector_id=connector.pk)
        return Response(connector_repr(connector))

    def destroy(self, request: Request, organisation_id: str, connector_id: str) -> Response:
        connector_delete(connector=self._connector())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _connector(self) -> Connector:
        connector = self.get_object()
        assert isinstance(connector, Connector)
        return connector


class AuthSchemeConfigView(OrganisationScopedMixin):
    """``PUT`` creates or replaces the config with the client-chosen id; ``DELETE`` removes it."""

    @extend_schema(
        operation_id="auth_scheme_configs_put",
        request=auth_scheme_config(),
        responses=responses(
            {
                200: OpenApiResponse(auth_scheme_config(), description="Replaced."),
                201: OpenApiResponse(auth_scheme_config(), description="Created."),
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
        config, created = auth_scheme_config_put(
            connector=connector, config_id=config_id, data=request.data
        )
        return Response(
            auth_scheme_config_repr(config),
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
