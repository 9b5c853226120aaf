from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.defaults import page_not_found, server_error


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers. No authentication, no data."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy"
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


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
