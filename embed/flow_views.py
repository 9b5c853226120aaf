"""The start page of an embed OAuth flow and its one same-origin POST (README, "Embedding").

``GET /embed/flow/start`` is what the connect panel opens in its popup, at Patchbay's own
origin, before any provider page can cut the window's opener. Its script
(``embed/static/embed/flow-start.js``) takes the flow's one-time secret by ``postMessage``
from its opener only and sends it to ``POST /embed/flow/bind``, which answers with an
HttpOnly, SameSite=Lax cookie bound to the authorisation request
(:mod:`connections.oauth.browser`); the browser callback refuses an embed flow without it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import oauth
from core.errors import PatchbayError
from core.logs import WARNING, refusal
from embed.inputs import FlowBind
from embed.widget_views import asset

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/connections/oauth2/callback"


def public_origin() -> str:
    parts = urlsplit(settings.PATCHBAY_PUBLIC_URL)
    return f"{parts.scheme}://{parts.netloc}"


@require_GET
def flow_start_page(request: HttpRequest) -> HttpResponse:
    script = asset("flow-start.js")
    response = render(
        request,
        "embed/flow_start.html",
        {"script_url": f"{reverse('embed-asset', args=['flow-start.js'])}?v={script.version}"},
    )
    # The panel that opened this window must keep its handle until the secret is handed
    # over: Django's default (same-origin) would cut it, the panel's top page being the
    # company's. Provider pages may cut it later; the flow is bound by then.
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


class FlowBindView(APIView):
    """``POST /embed/flow/bind`` ``{authorisationId, secret}`` → 204 and the cookie.

    Only from Patchbay's own pages: ``Origin`` must be Patchbay's public origin and
    ``Sec-Fetch-Site`` (when the browser sends it) ``same-origin``, or 403
    ``cross_origin_refused`` — a page elsewhere must not set this cookie in a visitor's
    browser. A wrong, spent or expired secret is 400 ``invalid_flow_secret``.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    schema = None  # a browser endpoint of the widget, not part of the REST API

    def post(self, request: Request) -> Response:
        origin = request.headers.get("Origin")
        site = request.headers.get("Sec-Fetch-Site", "same-origin")
        if origin != public_origin() or site != "same-origin":
            refusal(logger, "cross_origin_refused", level=WARNING, origin=origin, site=site)
            raise PatchbayError(
                "cross_origin_refused", "Only Patchbay's own start page may do this.", 403
            )
        values = FlowBind.parse(request.data)
        binding = oauth.authorisation_browser_bind(values["authorisationId"], values["secret"])
        if binding is None:
            refusal(
                logger,
                "invalid_flow_secret",
                level=WARNING,
                authorisation_request_id=values["authorisationId"],
            )
            raise PatchbayError(
                "invalid_flow_secret",
                "That flow cannot be started here: start again from the app.",
                400,
            )
        response = Response(status=204)
        response.set_cookie(
            oauth.cookie_name(binding.authorisation_id),
            binding.value,
            expires=binding.expires_at,
            path=CALLBACK_PATH,
            secure=urlsplit(settings.PATCHBAY_PUBLIC_URL).scheme == "https",
            httponly=True,
            samesite="Lax",
        )
        response["Cache-Control"] = "no-store"
        return response
