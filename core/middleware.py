from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

# The proxy takes bodies up to its own limit (PATCHBAY_PROXY_MAX_BODY_BYTES), read in chunks.
_PROXY_PATH = re.compile(r"^/api/v2/o/[^/]+/connections/[^/]+/proxy/")


class RequestBodyLimitMiddleware:
    """Refuse request bodies over ``PATCHBAY_MAX_BODY_BYTES`` before anything reads them
    (the proxy's over ``PATCHBAY_PROXY_MAX_BODY_BYTES``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return JsonResponse(
                {"code": "invalid_request", "message": "Content-Length is not a number."},
                status=400,
            )
        limit = settings.PATCHBAY_MAX_BODY_BYTES
        if _PROXY_PATH.match(request.path):
            limit = settings.PATCHBAY_PROXY_MAX_BODY_BYTES
        if length > limit and not request.path.startswith("/admin/"):
            return JsonResponse(
                {
                    "code": "request_too_large",
                    "message": f"Request bodies are limited to {limit} bytes.",
                },
                status=413,
            )
        return self.get_response(request)


class NulCharacterGuardMiddleware:
    """Answer 404 for a path with a NUL character before any view sees it.

    PostgreSQL refuses NUL in text anywhere, so an id carrying one would otherwise
    surface as a database error (a 500) wherever it reached a query. Query strings
    are the views' to validate: they answer with the precise field and code.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            return JsonResponse({"code": "not_found", "message": "No such resource."}, status=404)
        return self.get_response(request)
