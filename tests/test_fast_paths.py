"""The request path's shortcuts answer exactly as what they stand in for: the content
negotiation (core/negotiation.py) as DRF's, the CSP middleware (core/csp.py) as django-csp's."""

from __future__ import annotations

import pytest
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer, StaticHTMLRenderer
from rest_framework.request import Request

from core.csp import CSPMiddleware
from core.negotiation import ContentNegotiation

ACCEPTS = [
    None,
    "*/*",
    " */* ",
    "application/json",
    "",
    "text/html",
    "application/xml",
    "application/json; indent=4",
    "text/html, application/json;q=0.5",
    "application/*",
    "text/html;q=1, */*;q=0.1",
]


def _negotiate(negotiation, accept: str | None, renderers):
    raw = RequestFactory().get("/api/v2/x")
    if accept is not None:
        raw.META["HTTP_ACCEPT"] = accept
    request = Request(raw)
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers)
    except exceptions.NotAcceptable:
        return "406"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("renderers", [[JSONRenderer()], [StaticHTMLRenderer(), JSONRenderer()]])
def test_the_negotiation_shortcut_answers_as_drf(accept, renderers):
    ours = _negotiate(ContentNegotiation(), accept, renderers)
    assert ours == _negotiate(DefaultContentNegotiation(), accept, renderers)


def test_the_api_still_refuses_an_accept_without_json(alice):
    response = alice.client.get(f"/api/v2/o/{alice.org_id}", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"
    assert alice.client.get(f"/api/v2/o/{alice.org_id}", HTTP_ACCEPT="*/*").status_code == 200


def _headers(middleware_class, response: HttpResponse, path: str = "/api/v2/x") -> dict[str, str]:
    request = RequestFactory().get(path)
    middleware = middleware_class(lambda r: response)
    middleware.process_request(request)
    out = middleware.process_response(request, response)
    return {k: v for k, v in out.items() if k.startswith("Content-Security-Policy")}


def test_the_cached_policy_is_django_csps():
    ours = _headers(CSPMiddleware, HttpResponse("x"))
    assert (
        ours["Content-Security-Policy"]
        == _headers(DjangoCSPMiddleware, HttpResponse("x"))["Content-Security-Policy"]
    )
    assert "default-src 'none'" in ours["Content-Security-Policy"]


def test_the_cached_policy_follows_the_settings():
    middleware = CSPMiddleware(lambda r: HttpResponse())
    first = _headers(lambda g: middleware, HttpResponse())
    policy = {"DIRECTIVES": {"default-src": ["'self'"]}}
    with override_settings(
        CONTENT_SECURITY_POLICY=policy, CONTENT_SECURITY_POLICY_REPORT_ONLY=policy
    ):
        changed = _headers(lambda g: middleware, HttpResponse())
    assert changed["Content-Security-Policy"] == "default-src 'self'"
    assert changed["Content-Security-Policy-Report-Only"] == "default-src 'self'"
    assert _headers(lambda g: middleware, HttpResponse()) == first


def test_a_response_with_its_own_policy_or_a_nonce_goes_to_django_csp():
    own = HttpResponse()
    own["Content-Security-Policy"] = "default-src 'none'; frame-ancestors https://a.example"
    assert _headers(CSPMiddleware, own)["Content-Security-Policy"].endswith("a.example")
    request = RequestFactory().get("/")
    middleware = CSPMiddleware(lambda r: HttpResponse())
    middleware.process_request(request)
    nonce = str(request.csp_nonce)  # type: ignore[attr-defined]
    out = middleware.process_response(request, HttpResponse())
    assert f"'nonce-{nonce}'" in out["Content-Security-Policy"]
    assert (
        out["Content-Security-Policy"]
        == _headers(lambda g: _nonced(DjangoCSPMiddleware, nonce), HttpResponse())[
            "Content-Security-Policy"
        ]
    )


def _nonced(middleware_class, nonce: str):
    class Fixed(middleware_class):
        def _make_nonce(self, request):
            request._csp_nonce = nonce
            return nonce

        def process_request(self, request):
            super().process_request(request)
            str(request.csp_nonce)

    return Fixed(lambda r: HttpResponse())
