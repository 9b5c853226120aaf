"""Admin plumbing shared by the apps."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


def shown_once(
    request: HttpRequest, *, title: str, secrets: list[tuple[str, str]], next_url: str
) -> TemplateResponse:
    """A page that shows freshly made secrets (an API key, a signing secret) once.

    Rendered straight into the response, never passed on as a ``messages`` message: the
    default message storage is a signed but unencrypted cookie (overflowing into the
    session table), so a secret there would sit in the browser's cookie jar, travel in
    ``Cookie`` headers and land in the database. ``no-store`` keeps it out of caches.
    """
    response = TemplateResponse(
        request,
        "admin/shown_once.html",
        {
            **admin.site.each_context(request),
            "title": title,
            "secrets": secrets,
            "next_url": next_url,
        },
    )
    response["Cache-Control"] = "no-store"
    return response
