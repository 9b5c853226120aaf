"""The demo OAuth 2.0 provider (django-oauth-toolkit), mounted only when PATCHBAY_DEMO is on.

It is a real authorization server: `make run` uses it so a newcomer can finish
an OAuth flow with no internet, and the tests use it as their loopback provider.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from demo import views

urlpatterns = [
    path(
        "provider/login/",
        auth_views.LoginView.as_view(template_name="demo/login.html"),
        name="demo-login",
    ),
    path("provider/me", views.Me.as_view(), name="demo-me"),
    path("provider/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
