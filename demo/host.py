"""The demo host page: "the company's site", on another origin, embedding the connect widget.

``manage.py demo_host`` (started by ``make run``) serves it on http://localhost:8001
(``DEMO_HOST_PORT``) while
Patchbay runs on http://127.0.0.1:8000, so the widget crosses origins exactly as it does
on a real site. Its backend does what a company's backend does: it holds an API key and,
when its page asks, mints a connect session for the signed-in user through Patchbay's API.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger("patchbay.demo.host")

# The demo site's own signed-in user, as its backend knows them.
END_USER = {"externalId": "demo-user-1", "displayName": "Dana Demo"}


@dataclass(frozen=True)
class SessionMinter:
    """Calls ``POST /api/v2/o/{org}/hubs/{hub}/sessions`` with the site's API key."""

    patchbay_url: str
    organisation_id: str
    hub_id: str
    api_key: str

    def __call__(self) -> dict[str, Any]:
        url = f"{self.patchbay_url}/api/v2/o/{self.organisation_id}/hubs/{self.hub_id}/sessions"
        request = urllib.request.Request(  # noqa: S310 - a fixed http(s) URL from settings
            url,
            data=json.dumps({"endUser": END_USER}).encode(),
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body: dict[str, Any] = json.load(response)
        return {"token": body["token"], "expiresAt": body.get("expiresAt")}


def page(*, patchbay_url: str, hub_id: str) -> str:
    """The host page. The two script tags at the bottom are what a company pastes."""
    script_url = escape(f"{patchbay_url}/embed/{hub_id}/connect.js")
    return PAGE.replace("{{ script_url }}", script_url).replace(
        "{{ patchbay_url }}", escape(patchbay_url)
    )


def handler(
    *, own_origin: str, html: str, mint: Callable[[], dict[str, Any]]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "PatchbayDemoHost"

        def do_GET(self) -> None:
            if self.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", html.encode())
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"Not found\n")

        def do_POST(self) -> None:
            if self.path != "/patchbay-session":
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"Not found\n")
                return
            # Only this site's own pages may mint a session for its signed-in user.
            if self.headers.get("Origin") != own_origin:
                self._send(HTTPStatus.FORBIDDEN, "text/plain", b"Cross-site request refused\n")
                return
            try:
                body = json.dumps(mint()).encode()
            except (urllib.error.URLError, OSError, KeyError, ValueError) as error:
                logger.warning("Could not mint a connect session: %s", error)
                self._send(HTTPStatus.BAD_GATEWAY, "application/json", b'{"error":"unavailable"}')
                return
            self._send(HTTPStatus.OK, "application/json", body)

        def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            logger.info("demo host: " + format, *args)

    return Handler


def server(
    *, host: str, port: int, handler_class: type[BaseHTTPRequestHandler]
) -> ThreadingHTTPServer:
    """The host page's server, bound (``OSError`` when the port is taken), not yet serving."""
    return ThreadingHTTPServer((host, port), handler_class)


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Notes · Integrations (Patchbay demo host page)</title>
<style>
  *, *::before, *::after { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: #1b1f24; background: #f3f4f7; }
  .top { background: #1b1f24; color: #fff; padding: .75rem 1.25rem; display: flex;
         align-items: center; justify-content: space-between; gap: 1rem; flex-wrap: wrap; }
  .top strong { font-size: 1.1rem; }
  .top span { color: #c4c9d1; font-size: .9rem; }
  .wrap { max-width: 64rem; margin: 0 auto; padding: 1.5rem 1rem; display: grid; gap: 1.5rem;
          grid-template-columns: minmax(0, 1fr) minmax(0, 22rem); }
  @media (max-width: 52rem) { .wrap { grid-template-columns: minmax(0, 1fr); } }
  .card { background: #fff; border-radius: 12px; padding: 1.25rem;
          box-shadow: 0 1px 3px rgba(0, 0, 0, .08); }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  p { margin: 0 0 1rem; color: #3d4450; }
  #connect { margin-top: .5rem; }
  #events { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; margin: 0;
            padding: 0; list-style: none; display: grid; gap: .4rem; overflow-wrap: anywhere; }
  #events li { background: #f3f4f7; border-radius: 6px; padding: .4rem .6rem; }
  code { background: #eef0f3; padding: 0 .25rem; border-radius: 4px; }
</style>
</head>
<body>
<header class="top"><strong>Acme Notes</strong><span>Signed in as Dana Demo</span></header>
<div class="wrap">
  <main class="card">
    <h1>Integrations</h1>
    <p>Connect the tools you use. This page is served by the demo host on another origin;
      the panel below comes from Patchbay at <code>{{ patchbay_url }}</code>.
      Sign in at the demo provider as <code>demo</code> / <code>demo-password</code>.</p>
    <div id="connect"></div>
  </main>
  <aside class="card" aria-labelledby="events-heading">
    <h2 id="events-heading">Events from the widget</h2>
    <ul id="events" aria-live="polite"><li>Waiting…</li></ul>
  </aside>
</div>
<script src="{{ script_url }}"></script>
<script>
  function log(text) {
    var list = document.getElementById("events");
    if (list.dataset.started !== "1") { list.textContent = ""; list.dataset.started = "1"; }
    var item = document.createElement("li");
    item.textContent = new Date().toLocaleTimeString() + "  " + text;
    list.prepend(item);
  }
  Patchbay.connect({
    container: "#connect",
    // Ask this site's backend for a connect session (it calls Patchbay with its API key).
    token: function () {
      return fetch("/patchbay-session", { method: "POST" })
        .then(function (r) { if (!r.ok) throw new Error("session"); return r.json(); })
        .then(function (body) { return body.token; });
    },
    onConnected: function (e) { log("patchbay:connected " + e.connectionId); },
    onError: function (e) {
      log("patchbay:error " + e.error + (e.message ? " (" + e.message + ")" : ""));
    },
  });
</script>
</body>
</html>
"""
