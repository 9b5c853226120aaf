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
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from connections import proxy
from connections.proxy.headers import headers_from_meta
from connections.proxy.retries import retries_parse
from connections.selectors import connection_get
from core.errors import PatchbayError
from core.outbound import OutboundError
from organisations.tenancy import OrganisationScopedMixin

logger = logging.getLogger("patchbay.proxy")


class ProxyView(OrganisationScopedMixin):
    """Every method is handled alike; content negotiation is the upstream's business."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return (JSONRenderer(), JSONRenderer.media_type)  # Patchbay's own answers: JSON

    @property
    def default_response_headers(self) -> dict[str, str]:
        return {}  # no Allow or Vary of DRF's on the upstream's answer

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

    def get(self, request: Request, organisation_id: str, connection_id: str, path: str) -> Any:
        return self._proxy(request, connection_id, path)

    head = post = put = patch = delete = get


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
