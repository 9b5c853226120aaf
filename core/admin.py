"""Admin plumbing shared by the apps."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, QueryDict
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


def redisplay_json(form: forms.BaseForm, field_name: str, value: Any) -> None:
    """Make a rejected JSON input redisplay as ``value`` instead of as typed.

    Django redisplays invalid input verbatim, and what an operator typed into a
    JSON box may be a secret pasted in the wrong place.
    """
    data = QueryDict(mutable=True)
    data.update(form.data)
    data[form.add_prefix(field_name)] = json.dumps(value, indent=2)
    form.data = data
