"""Every REST API route under ``/api/v2/``. Each app lists its own routes in ``api_urls``."""

from django.urls import include, path

urlpatterns = [
    path("", include("organisations.api_urls")),
    path("", include("connectors.api_urls")),
    path("", include("credentials.api_urls")),
    path("", include("connections.api_urls")),
    path("", include("embed.api_urls")),
    path("", include("webhooks.api_urls")),
]
