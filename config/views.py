from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.defaults import page_not_found, server_error
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import invalid


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers. No authentication, no data."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy"
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """``/``: what this server is and where to go; in demo mode, the walkthrough's values
    (all but the API key: this page is for anyone who can reach the server)."""
    context: dict[str, Any] = {"demo": settings.PATCHBAY_DEMO}
    if settings.PATCHBAY_DEMO:
        from demo.selectors import WALKTHROUGH, walkthrough_shown
        from demo.services import PROVIDER_PASSWORD, PROVIDER_USERNAME, key_file

        shown = walkthrough_shown()
        if shown is not None:
            context["walkthrough"] = [
                (name, value, WALKTHROUGH[name]) for name, value in shown.values.items()
            ]
            context["host_page"] = shown.host_page
            context["key_file"] = key_file().name
        context["provider_login"] = f"{PROVIDER_USERNAME} / {PROVIDER_PASSWORD}"
    return render(request, "home.html", context)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"code": "not_found", "message": "No such resource."}, status=404)
    return page_not_found(request, exception or Exception())


def internal_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {
                "code": "internal_error",
                "message": "Something went wrong on our side. It has been logged.",
            },
            status=500,
        )
    return server_error(request)


class SchemaNegotiation(DefaultContentNegotiation):
    """``?format=json`` / ``?format=yaml`` chooses the schema's format, as Swagger tools and
    people expect: the API's own views ignore ``format`` (``URL_FORMAT_OVERRIDE`` is off)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        asked = format_suffix or request.query_params.get("format")
        known = sorted({renderer.format for renderer in renderers})
        if asked is not None and asked not in known:
            raise invalid("format", f"format is one of {', '.join(known)}.")
        return super().select_renderer(request, renderers, asked)


class SchemaView(SpectacularAPIView):
    """The OpenAPI document: YAML by default; JSON for ``?format=json`` or an ``Accept`` of
    ``application/json`` or ``application/vnd.oai.openapi+json``."""

    content_negotiation_class = SchemaNegotiation

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        if response.status_code >= 400:
            # An error is JSON in the error shape like every other API error, not a YAML
            # rendering of it (a 406 has no renderer of its own to fall back on).
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    # `?format=json` with no preference answers plain `application/json` (browsers show it).
    renderer_classes = [
        OpenApiYamlRenderer,
        OpenApiYamlRenderer2,
        OpenApiJsonRenderer2,
        OpenApiJsonRenderer,
    ]
