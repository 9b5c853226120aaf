"""Credential routes. ``<str:>`` converters: a malformed id answers the JSON 404, not Django's."""

from __future__ import annotations

from django.urls import path

from credentials.views import CredentialViewSet

credential_collection = CredentialViewSet.as_view({"get": "list", "post": "create"})
credential_detail = CredentialViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path(
        "o/<str:organisation_id>/credentials",
        credential_collection,
        name="credential-list",
    ),
    path(
        "o/<str:organisation_id>/credentials/<str:credential_id>",
        credential_detail,
        name="credential-detail",
    ),
]
