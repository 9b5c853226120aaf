"""REST framework glue shared by every API: parsing, errors, pagination."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.metadata import BaseMetadata
from rest_framework.pagination import BasePagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from core.errors import FieldError, PatchbayError
from core.text import parse_uuid
from core.wire import field_errors

# --- Parsing ----------------------------------------------------------------


MAX_JSON_DEPTH = 32


def _reject_nul(value: Any, path: str = "", depth: int = 0) -> None:
    """Refuse NUL characters (PostgreSQL cannot store them) and absurd nesting."""
    if depth > MAX_JSON_DEPTH:
        raise PatchbayError(
            "invalid_request",
            f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep.",
            fields=[FieldError(path or "body", "Nested too deeply.")],
        )
    if isinstance(value, str):
        if "\x00" in value:
            raise PatchbayError(
                "invalid_request",
                "Strings may not contain NUL characters.",
                fields=[FieldError(path or "body", "Contains a NUL character.")],
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key, path, depth + 1)
            _reject_nul(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_nul(item, f"{path}[{index}]", depth + 1)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


class StrictJSONParser(JSONParser):
    """JSON only: no duplicate keys, no NaN/Infinity, no NUL (PostgreSQL refuses it)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
            data = json.loads(
                text,
                object_pairs_hook=_no_duplicate_keys,
                parse_constant=_refuse_constant,
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise exceptions.ParseError("The request body is not valid JSON.") from exc
        except RecursionError as exc:  # nesting deep enough to exhaust the decoder's stack
            raise exceptions.ParseError("The request body is nested too deeply.") from exc
        _reject_nul(data)
        return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# --- Errors -----------------------------------------------------------------

_STATUS_CODES = {
    status.HTTP_401_UNAUTHORIZED: "unauthenticated",
    status.HTTP_403_FORBIDDEN: "forbidden",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "too_many_requests",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer every API error in the spec's error shape."""
    if isinstance(exc, PatchbayError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = field_errors(exc.detail)
        message = fields[0].message if len(fields) == 1 else "The request is not valid."
        if len(fields) == 1 and fields[0].field != "body":
            message = f"{fields[0].field}: {fields[0].message}"
        err = PatchbayError("invalid_request", message, 400, fields)
        return Response(err.as_dict(), status=400)
    if isinstance(exc, exceptions.ParseError):
        return Response({"code": "invalid_json", "message": str(exc.detail)}, status=400)
    if isinstance(exc, exceptions.APIException):
        # Imported here: rest_framework.views reads the API settings, which name this module
        # (its parser), so importing it above would make ``import core.api`` circular.
        from rest_framework.views import exception_handler as drf_exception_handler

        response = drf_exception_handler(exc, context)
        if response is None:  # pragma: no cover - DRF handles every APIException
            return None
        code = getattr(exc, "error_code", None) or _STATUS_CODES.get(response.status_code, "error")
        detail = exc.detail
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        response.data = {"code": code, "message": message}
        if getattr(exc, "www_authenticate", None):  # DRF's header names the first scheme only
            response["WWW-Authenticate"] = exc.www_authenticate  # type: ignore[attr-defined]
        if getattr(exc, "retry_after_seconds", None):
            response["Retry-After"] = str(exc.retry_after_seconds)  # type: ignore[attr-defined]
        return response
    return None


# --- OPTIONS ----------------------------------------------------------------


class RouteMetadata(BaseMetadata):
    """``OPTIONS`` on any API route: what it is and the methods it answers (also in ``Allow``).

    DRF's own metadata describes the request body from the view's ``serializer_class``;
    Patchbay's views have none (each body is one ``core.wire`` declaration, which feeds
    the OpenAPI document), so the shapes are left to ``/api/schema/`` rather than
    described twice.
    """

    def determine_metadata(self, request: Any, view: Any) -> dict[str, Any]:
        return {
            "name": view.get_view_name(),
            "methods": list(view.allowed_methods),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "documentation": "/api/schema/",
        }


# --- Pagination -------------------------------------------------------------


class CursorPagination(BasePagination):
    """``?first=N&after=cursor`` keyset pagination over (created_at, id).

    Every list has an index on its filter then ``(created_at, id)`` (e.g.
    ``(organisation, created_at, id)``), so a page reads about ``first`` rows of the
    index however deep it is and however large the organisation
    (``tests/test_list_plans.py`` asserts it on PostgreSQL's plans).

    Answers ``{"items": [...], "pageInfo": {"hasNextPage": bool, "endCursor": str|null}}``.
    """

    default_size = 50
    max_size = 100

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any]:
        first = _parse_first(request.query_params.get("first"), self.default_size, self.max_size)
        after = request.query_params.get("after")
        qs: QuerySet[Any] = queryset.order_by("created_at", "id")
        if after:
            created_at, pk = _decode_cursor(after)
            # ``created_at >= c`` is what the index range starts from (an OR alone would
            # be a filter over every row before the cursor); the OR then drops the rows of
            # that instant up to and including the cursor's.
            qs = qs.filter(created_at__gte=created_at).filter(
                Q(created_at__gt=created_at) | Q(id__gt=pk)
            )
        rows = list(qs[: first + 1])
        self.has_next = len(rows) > first
        self.page = rows[:first]
        return self.page

    def get_paginated_response(self, data: Any) -> Response:
        end = _encode_cursor(self.page[-1]) if self.page else None
        return Response(
            {"items": data, "pageInfo": {"hasNextPage": self.has_next, "endCursor": end}}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["items", "pageInfo"],
            "properties": {
                "items": schema,
                "pageInfo": {
                    "type": "object",
                    "properties": {
                        "hasNextPage": {"type": "boolean"},
                        "endCursor": {"type": "string", "nullable": True},
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "first",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_size},
                "description": f"Page size (default {self.default_size}).",
            },
            {
                "name": "after",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "The `endCursor` of the previous page.",
            },
        ]


def _parse_first(raw: str | None, default: int, maximum: int) -> int:
    if raw is None:
        return default
    # isdigit() alone would let "²" through to int(), which refuses it.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or not 1 <= int(raw) <= maximum:
        raise PatchbayError(
            "invalid_request",
            f"first must be a whole number from 1 to {maximum}.",
            fields=[FieldError("first", f"Must be from 1 to {maximum}.")],
        )
    return int(raw)


def _encode_cursor(obj: Any) -> str:
    raw = f"{obj.created_at.isoformat()}|{obj.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    error = PatchbayError(
        "invalid_request",
        "after is not a cursor this API returned.",
        fields=[FieldError("after", "Unknown cursor.")],
    )
    if len(cursor) > 200:
        raise error
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, pk = raw.split("|", 1)
        parsed = parse_uuid(pk)
        if parsed is None:
            raise ValueError(pk)
        when = datetime.fromisoformat(created)
        if when.tzinfo is None:
            raise ValueError(created)  # every cursor we hand out is timezone-aware
        # In UTC now, as the database will want it: 0001-01-01T00:00:00+01:00 overflows.
        return when.astimezone(UTC), str(parsed)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise error from exc


def require_no_body(request: Any) -> None:
    """For actions that take no input: an absent body or ``{}`` only.

    A body such an action cannot understand is refused, not ignored: a client that
    sends one has misunderstood the endpoint, and the action must not run on it.
    """
    if not request.body:
        return
    if request.data != {}:
        raise PatchbayError("invalid_request", "This action takes no request body (or {}).")
