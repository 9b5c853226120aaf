"""The browser callback page: the OAuth 2.0 redirect URI registered at providers.

It finishes every browser flow, the organisation's own and an embed flow alike, with
the one flow module (:mod:`connections.oauth`). It lives here, above connections,
because the page of an embed flow also tells the connect panel the outcome (SPEC §8);
its path stays ``/connections/oauth2/callback`` (``config/urls.py``).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from connections import oauth
from connections.models import AuthorisationRequest
from core.errors import PatchbayError
from embed.outputs import embed_callback_context
from embed.selectors import embed_authorisation_for_state

# The callback page shows provider text: nothing on it may run, load or be framed.
CALLBACK_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


@require_GET
def callback_page(request: HttpRequest) -> HttpResponse:
    """The browser redirect URI registered at providers: finish the flow, show the outcome."""
    context: dict[str, Any]
    params: oauth.CallbackParams | None = None
    authorisation: AuthorisationRequest | None = None
    try:
        params = oauth.callback_params_parse(request.GET.lists())
        outcome = oauth.authorisation_complete(
            params, browser_bindings=oauth.browser_bindings(request.COOKIES)
        )
    except PatchbayError as error:
        # Consumed: the outcome is recorded (a flow of another browser is not consumed).
        if params is not None and error.code not in ("invalid_state", "browser_mismatch"):
            authorisation = embed_authorisation_for_state(params.state)
        cancelled = isinstance(error, oauth.ProviderError) and error.cancelled
        context = {
            "ok": False,
            "cancelled": cancelled,
            "code": error.code,
            "message": error.message,
            "description": error.description if isinstance(error, oauth.ProviderError) else None,
        }
        status_code = error.status
    else:
        context = {"ok": True, "connection": outcome.connection, "created": outcome.created}
        status_code = 200
        authorisation = outcome.authorisation_request
    headers = CALLBACK_PAGE_HEADERS
    if authorisation is not None and authorisation.hub_id is not None:
        # An embed flow: the popup's script posts this to the panel (SPEC §8).
        context.update(embed_callback_context(authorisation))
        context["csp_nonce"] = secrets.token_urlsafe(16)
        headers = _embed_callback_headers(context["csp_nonce"])
    response = render(request, "connections/callback.html", context, status=status_code)
    for header, value in headers.items():
        response[header] = value
    return response


def _embed_callback_headers(nonce: str) -> dict[str, str]:
    """The callback page of an embed flow runs one script, by nonce, that posts the outcome to
    the panel that opened the popup. ``Cross-Origin-Opener-Policy: same-origin`` (Django's
    default) would cut that opener link on arrival here, so this page leaves it be; the panel
    also polls, for providers whose own pages cut it earlier."""
    csp = CALLBACK_PAGE_HEADERS["Content-Security-Policy"]
    return {
        **CALLBACK_PAGE_HEADERS,
        "Content-Security-Policy": f"{csp}; script-src 'nonce-{nonce}'",
        "Cross-Origin-Opener-Policy": "unsafe-none",
    }
