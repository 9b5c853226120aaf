"""Connector routes. ``<str:>`` converters: a malformed id answers the JSON 404, not Django's.

``POST .../connectors/{connector_id}/oauth2/initialise`` is routed by ``connections.api_urls``.
"""

from __future__ import annotations

from django.urls import path

from connectors.views import AuthSchemeConfigView, ConnectorViewSet

connector_collection = ConnectorViewSet.as_view({"get": "list", "post": "create"})
connector_detail = ConnectorViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path("o/<str:organisation_id>/connectors", connector_collection, name="connector-list"),
    path(
        "o/<str:organisation_id>/connectors/<str:connector_id>",
        connector_detail,
        name="connector-detail",
    ),
    path(
        "o/<str:organisation_id>/connectors/<str:connector_id>/auth-scheme-configs/<str:config_id>",
        AuthSchemeConfigView.as_view(),
        name="auth-scheme-config-detail",
    ),
]
