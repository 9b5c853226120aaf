"""Binding an embed flow to the browser that started it (issue: consent hand-over).

Without it, an end user could copy the provider URL out of the popup and have another
person consent with it, linking that person's account to their own end user. A cookie set
by visiting a URL cannot stop that (the starter can hand the URL over); a secret that never
appears in a URL can:

1. initialise makes a one-time ``browser_secret`` for an embed flow and keeps its hash;
   the panel gets it in the JSON answer, never in a URL;
2. the panel's popup opens Patchbay's start page, same origin as the panel, which receives
   the secret by ``postMessage`` from its opener only and sends it with a same-origin POST;
3. :func:`authorisation_browser_bind` trades it, once, for a random binding whose hash is
   stored and which the browser keeps as an HttpOnly, SameSite=Lax cookie;
4. the browser callback presents the cookie: :func:`binding_matches` is part of the one
   conditional UPDATE that consumes the state, so an embed flow finished in another
   browser consumes nothing and stores nothing.

Organisation flows (no hub) are not bound: the organisation's backend started them.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from connections.models import AuthorisationRequest

# The hash of "no binding": a value no sha256 hex digest can equal.
_NONE = "-"


# A browser holds one cookie per flow it started; more than this many are not looked at.
MAX_BINDINGS = 20


def binding_hash(value: str | None) -> str:
    return hashlib.sha256(value.encode()).hexdigest() if value else _NONE


def binding_hashes(bindings: Sequence[str]) -> list[str]:
    return [binding_hash(b) for b in bindings[:MAX_BINDINGS] if b] or [_NONE]


def binding_matches(bindings: Sequence[str]) -> Q:
    """Rows an answer from a browser holding ``bindings`` (its flow cookies' values) may
    consume: organisation flows, and embed flows whose start page bound this browser."""
    return Q(hub__isnull=True) | Q(browser_binding_hash__in=binding_hashes(bindings))


def browser_bindings(cookies: Mapping[str, str]) -> list[str]:
    """The values of a request's flow cookies (:func:`cookie_name`)."""
    return [value for name, value in cookies.items() if name.startswith(COOKIE_PREFIX)]


@dataclass(frozen=True)
class BrowserBinding:
    authorisation_id: uuid.UUID
    value: str  # the cookie's value; only its hash is stored
    expires_at: datetime


def authorisation_browser_bind(authorisation_id: Any, secret: Any) -> BrowserBinding | None:
    """Spend the one-time ``secret`` of a pending embed flow; the binding for its cookie, or
    None when the secret is wrong, spent, or the flow is not pending (one UPDATE)."""
    if not isinstance(secret, str) or not secret or len(secret) > 200:
        return None
    try:
        pk = uuid.UUID(str(authorisation_id))
    except ValueError:
        return None
    value = secrets.token_urlsafe(32)
    rows = AuthorisationRequest.objects.filter(
        pk=pk,
        hub__isnull=False,
        browser_secret_hash=binding_hash(secret),
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if rows.update(browser_secret_hash="", browser_binding_hash=binding_hash(value)) != 1:
        return None
    expires_at = AuthorisationRequest.objects.values_list("expires_at", flat=True).get(pk=pk)
    return BrowserBinding(authorisation_id=pk, value=value, expires_at=expires_at)


COOKIE_PREFIX = "patchbay_flow_"


def cookie_name(authorisation_id: Any) -> str:
    """One cookie per flow, so two flows started in one browser do not displace each other."""
    return f"{COOKIE_PREFIX}{uuid.UUID(str(authorisation_id)).hex}"
