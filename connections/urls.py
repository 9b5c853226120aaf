"""Browser routes under ``/connections/``: the OAuth 2.0 redirect URI registered at providers."""

from __future__ import annotations

from django.urls import path

from connections.views import callback_page

urlpatterns = [
    path("oauth2/callback", callback_page, name="oauth2-callback"),
]
