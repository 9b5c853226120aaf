"""Webhook routes. ``<str:>`` converters: a malformed id answers the JSON 404, not Django's."""

from __future__ import annotations

from django.urls import path

from webhooks.views import WebhookEndpointViewSet

collection = WebhookEndpointViewSet.as_view({"get": "list", "post": "create"})
detail = WebhookEndpointViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)
rotate_secret = WebhookEndpointViewSet.as_view({"post": "rotate_secret"})
deliveries = WebhookEndpointViewSet.as_view({"get": "deliveries"})
redeliver = WebhookEndpointViewSet.as_view({"post": "redeliver"})

urlpatterns = [
    path("o/<str:organisation_id>/webhooks", collection, name="webhook-list"),
    path("o/<str:organisation_id>/webhooks/<str:webhook_id>", detail, name="webhook-detail"),
    path(
        "o/<str:organisation_id>/webhooks/<str:webhook_id>/rotate-secret",
        rotate_secret,
        name="webhook-rotate-secret",
    ),
    path(
        "o/<str:organisation_id>/webhooks/<str:webhook_id>/deliveries",
        deliveries,
        name="webhook-deliveries",
    ),
    path(
        "o/<str:organisation_id>/webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/redeliver",
        redeliver,
        name="webhook-redeliver",
    ),
]
