"""Widget scenarios: the connect panel's server time, and what a host page's visitor downloads.

Loaded by ``bench/run.py`` (``bench/scenarios_*.py``). ``GET /embed/{hub}/`` and
``connect.js`` are measured beside the no-op endpoint; a post hook then fetches the panel,
``connect.js`` and every script the panel names, as a browser does (``Accept-Encoding:
gzip``), and reports the bytes sent (gzipped) and the files' own size.
"""

from __future__ import annotations

import gzip
import http.client
import re
from typing import Any

from bench.run import EXTRA_LINES, POST_HOOKS, Request, Scenario, scenario

_SCRIPT_SRC = re.compile(rb'<script src="([^"]+)"')


@scenario
def widget_scenarios(ctx: dict[str, Any]) -> list[Scenario]:
    from connectors.models import Connector
    from embed.models import Hub

    hub = Hub.objects.create(
        organisation_id=ctx["organisation_id"],
        name="Bench widget hub",
        allowed_origins=["https://app.example.com", "https://www.example.com"],
        branding_title="Connect your tools",
        branding_logo_url="https://cdn.example.com/logo.png",
        branding_accent_color="#2f5bd3",
    )
    hub.connectors.set(Connector.objects.filter(pk=ctx["connector_id"]))
    ctx["widget_hub_id"] = str(hub.pk)
    panel = f"/embed/{hub.pk}/"
    gz = {"Accept-Encoding": "gzip"}
    return [
        ("widget GET /embed/{hub}/ (panel)", lambda: Request("GET", panel, headers=gz)),
        ("widget GET connect.js", lambda: Request("GET", f"{panel}connect.js", headers=gz)),
    ]


def _get(port: int, path: str) -> bytes:
    """The body as sent to a client that takes gzip."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200 or response.getheader("Content-Encoding") != "gzip":
            raise SystemExit(f"GET {path} answered {response.status}, not gzipped")
        return body
    finally:
        conn.close()


def widget_bytes(ctx: dict[str, Any]) -> None:
    panel_path = f"/embed/{ctx['widget_hub_id']}/"
    files = {"panel": _get(ctx["port"], panel_path)}
    files["connect.js"] = _get(ctx["port"], f"{panel_path}connect.js")
    for src in _SCRIPT_SRC.findall(gzip.decompress(files["panel"])):
        files[src.decode().split("?")[0].rsplit("/", 1)[-1]] = _get(ctx["port"], src.decode())
    sent = sum(len(body) for body in files.values())
    raw = sum(len(gzip.decompress(body)) for body in files.values())
    parts = ", ".join(f"{name} {len(body):,}" for name, body in files.items())
    EXTRA_LINES.append(
        f"\nwidget transfer: {sent:,} bytes sent gzipped ({raw:,} uncompressed) for panel + "
        f"scripts [{parts}]; budget 51,200"
    )


POST_HOOKS.append(widget_bytes)
