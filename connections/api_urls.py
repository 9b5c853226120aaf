"""Connection and OAuth 2.0 routes. ``<str:>`` converters: a malformed id answers the JSON 404."""

from __future__ import annotations

from django.urls import path

from connections.proxy_views import ProxyView
from connections.views import CallbackApiView, ConnectionViewSet, GrantTokenView, InitialiseView

connection_collection = ConnectionViewSet.as_view({"get": "list", "post": "create"})
connection_detail = ConnectionViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)
connection_access_token = ConnectionViewSet.as_view({"get": "access_token"})
connection_verify = ConnectionViewSet.as_view({"post": "verify"})

urlpatterns = [
    path(
        "o/<str:organisation_id>/connectors/<str:connector_id>/oauth2/initialise",
        InitialiseView.as_view(),
        name="oauth2-initialise",
    ),
    path(
        "o/<str:organisation_id>/connectors/<str:connector_id>/oauth2/token",
        GrantTokenView.as_view(),
        name="oauth2-grant-token",
    ),
    path("connections/oauth2/callback", CallbackApiView.as_view(), name="oauth2-callback-api"),
    path("o/<str:organisation_id>/connections", connection_collection, name="connection-list"),
    path(
        "o/<str:organisation_id>/connections/<str:connection_id>",
        connection_detail,
        name="connection-detail",
    ),
    path(
        "o/<str:organisation_id>/connections/<str:connection_id>/access-token",
        connection_access_token,
        name="connection-access-token",
    ),
    path(
        "o/<str:organisation_id>/connections/<str:connection_id>/proxy/<path:path>",
        ProxyView.as_view(),
        name="connection-proxy",
    ),
    path(
        "o/<str:organisation_id>/connections/<str:connection_id>/verify",
        connection_verify,
        name="connection-verify",
    ),
]
