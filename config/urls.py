from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from config import views
from embed.callback_views import callback_page

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("api/schema/", views.SchemaView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (``?script``), so the
    # page runs under the site's CSP with no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    path("api/v2/", include("config.api_router")),
    # The OAuth 2.0 redirect URI registered at providers; the page lives in embed, which sits
    # above connections, because an embed flow's page also tells the connect panel.
    path("connections/oauth2/callback", callback_page, name="oauth2-callback"),
    path("embed/", include("embed.urls")),
]

if settings.PATCHBAY_DEMO:
    urlpatterns += [path("demo/", include("demo.urls"))]

handler404 = "config.views.not_found"
handler500 = "config.views.internal_error"
