"""The connect widget's browser side (SPEC §8): ``connect.js`` for host pages and the panel.

The panel ``/embed/{hub_id}/`` is the only page Patchbay lets other sites frame, and only
the hub's exact ``allowedOrigins`` may. It carries no token and reads nothing secret: the
host page hands it a connect session token by ``postMessage`` and everything else goes
through the session-authenticated embed API from the browser.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from embed.models import DEFAULT_ACCENT_COLOR, Hub

ASSETS = Path(__file__).resolve().parent / "static" / "embed"
_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
# What may appear in a CSP source expression without ending it or starting another.
_CSP_SAFE = re.compile(r"[A-Za-z0-9.:/\[\]_-]+")
_API_PREFIX = "/api/v2/embed"


@dataclass(frozen=True)
class Asset:
    body: bytes
    etag: str
    # The same bytes gzipped (level 9, once per process), sent to clients that accept
    # gzip under an ETag of their own: a different representation of the same version.
    gzipped: bytes
    gzip_etag: str

    @property
    def version(self) -> str:
        return self.etag.strip('"')[:12]


@cache
def asset(name: str) -> Asset:
    """A file of ``embed/static/embed``, read (and gzipped) once per process."""
    body = (ASSETS / name).read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:32]
    # mtime=0: the same bytes, and so the same ETag, from every process and release.
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return Asset(body=body, etag=f'"{digest}"', gzipped=gzipped, gzip_etag=f'"{digest}-gzip"')


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether Accept-Encoding lists gzip without refusing it (``gzip;q=0``)."""
    for item in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip().lower()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.", "0.0", "0.00", "0.000"))
    return False


def _hub(hub_id: Any) -> Hub:
    hub = Hub.objects.filter(pk=hub_id).only(
        "id", "name", "allowed_origins", "branding_title", "branding_logo_url",
        "branding_accent_color",
    ).first()  # fmt: skip
    if hub is None:
        raise Http404("No such hub.")
    return hub


def public_origin() -> str:
    """Patchbay's own origin (of ``PATCHBAY_PUBLIC_URL``): where panels and callbacks live."""
    parts = urlsplit(settings.PATCHBAY_PUBLIC_URL)
    return f"{parts.scheme}://{parts.netloc}"


def exact_origins(values: Any) -> list[str]:
    """The entries of ``allowedOrigins`` that are exactly ``scheme://host[:port]``.

    The hub API validates them; this is the last line before they go into a CSP header,
    where a stray space, ``;`` or ``*`` would widen who may frame the panel.
    """
    origins: list[str] = []
    for value in values if isinstance(values, list) else []:
        if not isinstance(value, str) or not _CSP_SAFE.fullmatch(value):
            continue
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            continue
        if f"{parts.scheme}://{parts.netloc}" != value or "*" in value:
            continue
        origins.append(value)
    return origins


def accent_colours(value: str) -> tuple[str, str]:
    """The hub's accent colour (a ``#rgb``/``#rrggbb`` hex colour, else the default) and a
    readable text colour on it. Only a validated colour ever reaches the page's CSS."""
    colour = value if _HEX_COLOUR.fullmatch(value or "") else DEFAULT_ACCENT_COLOR
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    # White text when it contrasts better than black (WCAG relative luminance).
    text = "#ffffff" if (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) else "#111111"
    return colour.lower(), text


def logo_url(value: str) -> str:
    """The branding logo URL when it is safe to load: https (http only on loopback when
    insecure http is allowed), and fit for a CSP source expression; else ``""``."""
    if not value or len(value) > 2048 or any(c.isspace() for c in value):
        return ""
    parts = urlsplit(value)
    if not parts.hostname or not _CSP_SAFE.fullmatch(f"{parts.scheme}://{parts.netloc}"):
        return ""
    if parts.scheme == "https":
        return value
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and loopback and settings.PATCHBAY_ALLOW_INSECURE_HTTP:
        return value
    return ""


def panel_csp(*, nonce: str, frame_ancestors: list[str], logo: str) -> str:
    """The panel's policy: its own script, its own API, a nonce'd style, and framing by the
    hub's exact origins only."""
    images = "'self'"
    ancestors = " ".join(frame_ancestors) or "'none'"
    if logo:
        parts = urlsplit(logo)
        images += f" {parts.scheme}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'nonce-{nonce}'",
            f"img-src {images}",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {ancestors}",
        ]
    )


@require_GET
@xframe_options_exempt  # framing is governed by the CSP frame-ancestors below instead
@gzip_page  # it holds no secret (the nonce is per response); Django pads against BREACH
def panel(request: HttpRequest, hub_id: Any) -> HttpResponse:
    """``GET /embed/{hub_id}/``: the connect panel, framable only by the hub's origins."""
    hub = _hub(hub_id)
    origins = exact_origins(hub.allowed_origins)
    accent, accent_text = accent_colours(hub.branding_accent_color)
    logo = logo_url(hub.branding_logo_url)
    nonce = secrets.token_urlsafe(16)
    script = asset("panel.js")
    context = {
        "nonce": nonce,
        "title": hub.branding_title or hub.name,
        "logo_url": logo,
        "accent": accent,
        "accent_text": accent_text,
        "css": asset("panel.css").body.decode(),
        "script_url": f"{reverse('embed-asset', args=['panel.js'])}?v={script.version}",
        "config": {
            "hubId": str(hub.pk),
            "api": f"{_API_PREFIX}/{hub.pk}",
            "allowedOrigins": origins,
        },
    }
    response = render(request, "embed/panel.html", context)
    response["Content-Security-Policy"] = panel_csp(nonce=nonce, frame_ancestors=origins, logo=logo)
    # A fresh nonce per response: never reuse a cached copy.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _javascript(request: HttpRequest, item: Asset, cache_control: str) -> HttpResponse:
    """The script, gzipped when the client takes gzip, with its ETag; 304 when the client
    already holds it (either representation: they are the same version)."""
    compressed = accepts_gzip(request)
    headers = {
        "ETag": item.gzip_etag if compressed else item.etag,
        "Cache-Control": cache_control,
        # Caches keep the two representations apart.
        "Vary": "Accept-Encoding",
        # Host pages load connect.js from another origin; let them even under COEP.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    held = request.headers.get("If-None-Match", "")
    if item.etag in held or item.gzip_etag in held:
        return HttpResponseNotModified(headers=headers)
    if compressed:
        headers["Content-Encoding"] = "gzip"
    body = item.gzipped if compressed else item.body
    return HttpResponse(body, content_type="text/javascript; charset=utf-8", headers=headers)


@require_GET
def connect_js(request: HttpRequest, hub_id: Any) -> HttpResponse:
    """``GET /embed/{hub_id}/connect.js``: the host page's script. The URL is not versioned,
    so caches keep it briefly and revalidate by ETag; a new release reaches pages fast."""
    _hub(hub_id)
    return _javascript(request, asset("connect.js"), "public, max-age=300, must-revalidate")


@require_GET
def widget_asset(request: HttpRequest, name: str) -> HttpResponse:
    """``GET /embed/assets/panel.js?v=...`` (and the start page's ``flow-start.js``): a
    script of Patchbay's own pages, immutable per version."""
    if name not in ("panel.js", "flow-start.js"):
        raise Http404("No such asset.")
    item = asset(name)
    if request.GET.get("v") == item.version:
        return _javascript(request, item, "public, max-age=31536000, immutable")
    return _javascript(request, item, "public, max-age=60, must-revalidate")
