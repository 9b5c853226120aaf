"""``/o/{organisation_id}/connections/{connection_id}/proxy/{path}``: parse, call
:func:`connections.proxy.send`, stream the answer back (SPEC §9.1).

Patchbay's own answers (404, 400, 409, 413, 502, 504) are in the error shape and carry no
``Patchbay-Proxy`` header; the upstream's, whatever they are, carry
``Patchbay-Proxy: upstream`` and are streamed as they arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from connections import proxy
from connections.proxy.headers import headers_from_meta
from connections.proxy.retries import MAX_RETRIES, retries_parse
from connections.selectors import connection_get
from core.errors import PatchbayError
from core.openapi import errors
from core.outbound import OutboundError
from organisations.tenancy import OrganisationScopedMixin

logger = logging.getLogger("patchbay.proxy")


_PARAMETERS = [
    OpenApiParameter(
        "path",
        str,
        OpenApiParameter.PATH,
        description="Catch-all: the rest of the URL after `/proxy/`, slashes included "
        "(`v1/items/7`), joined to the connection's (else the connector's) `baseUrl`. The "
        "caller's query string follows it. `..` and `.` segments (also percent-encoded, "
        "once or more), absolute URLs, `@`, backslashes and control characters answer 400 "
        "`invalid_path`.",
    ),
    OpenApiParameter(
        "Patchbay-Retries",
        {"type": "integer", "minimum": 0, "maximum": MAX_RETRIES},
        OpenApiParameter.HEADER,
        description="0-5 (default 0): retries after a connection error, 429, 502, 503 or 504, "
        "for GET, HEAD, PUT, DELETE and any request with an `Idempotency-Key`; exponential "
        "backoff with jitter, honouring `Retry-After`. Not passed on.",
    ),
]
_UPSTREAM = OpenApiResponse(
    OpenApiTypes.BINARY,
    description="The upstream's answer as it is (any status, a 3xx included: redirects are "
    "not followed), with `Patchbay-Proxy: upstream`; hop-by-hop headers and `Set-Cookie` "
    "are left out. Patchbay's own errors (below, at the same statuses) carry no "
    "`Patchbay-Proxy` header and use the error shape.",
)
_ERRORS = errors(
    400,
    401,
    404,
    409,
    413,
    502,
    504,
    token=(409, 502),
    text={
        400: "`invalid_path`, `invalid_header` (control characters, `Transfer-Encoding`, a bad "
        "`Patchbay-Retries`) or `invalid_request`.",
        404: "`not_found`: no such connection in the caller's organisation.",
        409: "`reauthorisation_required` (the connection is `needs_reauth`), "
        "`scheme_not_supported` (oauth1, certificate), `base_url_required`, "
        "`credential_unusable`.",
        413: "`request_too_large`: the body is over `PATCHBAY_PROXY_MAX_BODY_BYTES` (10 MiB).",
        502: "`upstream_unreachable`, `upstream_response_too_large` or `token_refresh_failed`.",
        504: "`upstream_timeout`: no answer before the deadline.",
    },
)


def _operation(method: str) -> Any:
    body = {"*/*": OpenApiTypes.BINARY} if method in ("post", "put", "patch") else None
    return extend_schema(
        operation_id=f"connections_proxy_{method}",
        summary=f"{method.upper()} through the connection's credentials (SPEC 9.1)",
        description="Sends the request to the connection's upstream with its credentials "
        "applied in order, and streams the answer back"
        + (" (HEAD works alike)." if method == "get" else "."),
        parameters=_PARAMETERS,
        request=body,
        responses={(200, "*/*"): _UPSTREAM, **_ERRORS},
    )


class ProxyView(OrganisationScopedMixin):
    """Every method is handled alike; content negotiation is the upstream's business."""

    # Acting upstream with the connection's credentials, whatever the method.
    staff_permissions = {"*": ("connections.change_connection",)}

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return (JSONRenderer(), JSONRenderer.media_type)  # Patchbay's own answers: JSON

    @property
    def default_response_headers(self) -> dict[str, str]:
        return {}  # no Allow or Vary of DRF's on the upstream's answer

    def options(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Patchbay's own answer, as on every API route (the proxy relays the methods of
        SPEC §9.1 only), with the ``Allow`` the upstream's answers do without."""
        response = super().options(request, *args, **kwargs)
        response["Allow"] = ", ".join(self.allowed_methods)
        return response

    def _proxy(self, request: Request, connection_id: str, path: str) -> Any:
        connection = connection_get(organisation=self.organisation, connection_id=connection_id)
        django_request = request._request
        meta = django_request.META
        if "HTTP_TRANSFER_ENCODING" in meta:
            raise PatchbayError(
                "invalid_header",
                "Transfer-Encoding is not accepted: send the body with a Content-Length.",
                400,
            )
        retries = retries_parse(meta.get("HTTP_PATCHBAY_RETRIES"))
        body = proxy.body_read(django_request, meta.get("CONTENT_LENGTH"))
        try:
            upstream = proxy.send(
                connection=connection,
                method=django_request.method or "GET",
                path=path,
                query=meta.get("QUERY_STRING", ""),
                headers=headers_from_meta(meta),
                body=body,
                retries=retries,
            )
        except Exception:
            body.close()
            raise
        response = StreamingHttpResponse(
            _relay(upstream, body), status=upstream.status, reason=upstream.reason or None
        )
        del response["Content-Type"]  # Django's default; the upstream's, if any, follows
        for name, value in upstream.headers:
            if name.lower() in response.headers:
                response.headers[name] = f"{response.headers[name]}, {value}"
            else:
                response.headers[name] = value
        if upstream.content_length is not None:
            response.headers["Content-Length"] = str(upstream.content_length)
        response.headers["Patchbay-Proxy"] = "upstream"
        return response

    @_operation("get")
    def get(self, request: Request, organisation_id: str, connection_id: str, path: str) -> Any:
        return self._proxy(request, connection_id, path)

    @_operation("head")
    def head(self, request: Request, organisation_id: str, connection_id: str, path: str) -> Any:
        return self._proxy(request, connection_id, path)

    @_operation("post")
    def post(self, request: Request, organisation_id: str, connection_id: str, path: str) -> Any:
        return self._proxy(request, connection_id, path)

    @_operation("put")
    def put(self, request: Request, organisation_id: str, connection_id: str, path: str) -> Any:
        return self._proxy(request, connection_id, path)

    @_operation("patch")
    def patch(self, request: Request, organisation_id: str, connection_id: str, path: str) -> Any:
        return self._proxy(request, connection_id, path)

    @_operation("delete")
    def delete(self, request: Request, organisation_id: str, connection_id: str, path: str) -> Any:
        return self._proxy(request, connection_id, path)


def _relay(upstream: proxy.Upstream, body: proxy.SpooledBody) -> Iterator[bytes]:
    """The upstream's body as it arrives. When it breaks off or passes the response limit
    the headers are already sent: the answer is cut short (fewer bytes than its
    Content-Length, or a chunked body never ended), and the log says why."""
    try:
        yield from upstream.chunks()
    except OutboundError as exc:
        logger.warning("proxied answer cut short: %s", exc.kind)
        raise
    finally:
        upstream.close()
        body.close()
