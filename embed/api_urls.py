"""Hub routes (API key) and embed routes (connect session). ``<str:>`` converters: a
malformed id answers the JSON 404."""

from __future__ import annotations

from django.urls import path

from embed import api_views as v

hub_collection = v.HubViewSet.as_view({"get": "list", "post": "create"})
hub_detail = v.HubViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)
user_collection = v.EndUserViewSet.as_view({"get": "list", "post": "create"})
user_detail = v.EndUserViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)

HUB = "o/<str:organisation_id>/hubs/<str:hub_id>"
EMBED = "embed/<str:hub_id>"

urlpatterns = [
    path("o/<str:organisation_id>/hubs", hub_collection, name="hub-list"),
    path(HUB, hub_detail, name="hub-detail"),
    path(f"{HUB}/users", user_collection, name="hub-user-list"),
    path(f"{HUB}/users/<str:user_id>", user_detail, name="hub-user-detail"),
    path(f"{HUB}/sessions", v.SessionCreateView.as_view(), name="hub-session-create"),
    path(f"{EMBED}/session", v.EmbedSessionView.as_view(), name="embed-session"),
    path(f"{EMBED}/connectors", v.EmbedConnectorsView.as_view(), name="embed-connectors"),
    path(f"{EMBED}/connections", v.EmbedConnectionsView.as_view(), name="embed-connections"),
    path(
        f"{EMBED}/connections/<str:connection_id>",
        v.EmbedConnectionDetailView.as_view(),
        name="embed-connection-detail",
    ),
    path(
        f"{EMBED}/connector/<str:connector_id>/oauth2/initialise",
        v.EmbedInitialiseView.as_view(),
        name="embed-oauth2-initialise",
    ),
    path(
        f"{EMBED}/authorisations/<str:authorisation_id>",
        v.EmbedAuthorisationView.as_view(),
        name="embed-authorisation",
    ),
]
