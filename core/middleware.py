from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from core.logs import refusal

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

# Codes for error answers that reach us in another shape, by status.
_CODES = {
    400: ("invalid_request", "The request is not valid."),
    403: ("forbidden", "You may not do that."),
    404: ("not_found", "No such resource."),
    405: ("method_not_allowed", "That method is not allowed here."),
    406: ("not_acceptable", "This API answers application/json only."),
    413: ("request_too_large", "The request is too large."),
    415: ("unsupported_media_type", "Send application/json."),
    500: ("internal_error", "Something went wrong on our side. It has been logged."),
}
# Headers of the original answer that still hold for the reshaped one.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Cache-Control", "Vary")


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _for_exception(exc: Exception) -> tuple[int, str, str] | None:
    """Status, code and message for what Django raises on its own while parsing a request
    (the query string, the body, the Host header), or None for anything else (a 500,
    answered by ``handler500`` and reshaped on the way out)."""
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return 400, "too_many_parameters", f"At most {limit} parameters per request."
    if isinstance(exc, TooManyFilesSent):
        return 400, "invalid_request", "Too many files in the request."
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return 413, "request_too_large", f"Request bodies are limited to {limit} bytes."
    if isinstance(exc, DisallowedHost):
        return 400, "invalid_request", "The Host header names no host this server serves."
    if isinstance(exc, SuspiciousOperation | BadRequest):
        return 400, *_CODES[400]
    if isinstance(exc, PermissionDenied):
        return 403, *_CODES[403]
    if isinstance(exc, Http404):
        return 404, *_CODES[404]
    return None


class ApiErrorShapeMiddleware:
    """On ``/api/`` paths every error is JSON in the error shape, whoever produced it.

    DRF views answer in the shape already (``core.api.exception_handler``). This catches
    what Django produces around them: more query parameters than
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS``, a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, a Host
    it does not serve, a CSRF failure, the resolver's 404, a plain view's 405, ``DEBUG``'s
    technical pages and a 500. It is the outermost middleware, so nothing answers past it.

    Left alone: answers already in JSON, and answers relayed from elsewhere, which say so
    with a ``Patchbay-Proxy`` header (an upstream's own 404 page is the caller's to see).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith("application/json") or response.has_header("Patchbay-Proxy"):
            return response
        status = response.status_code
        code, message = _CODES.get(status, ("error", "The request could not be answered."))
        reshaped = _error(status, code, message)
        for header in _KEPT_HEADERS:
            if response.has_header(header):
                reshaped[header] = response[header]
        return reshaped

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        answer = _for_exception(exc)
        if answer is None:
            return None
        status, code, message = answer
        refusal(logger, code, reason=type(exc).__name__, method=request.method)
        return _error(status, code, message)


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
