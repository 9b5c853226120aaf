"""``Authorization: Bearer <connect session token>`` for the embed API (SPEC §3, §8).

Only connect session tokens are accepted here: an API key, a cookie or a token in
the URL is not. Every failure — malformed, unknown, expired, revoked — is the same
401 ``invalid_session``, so a caller learns nothing about which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from embed.models import ConnectSession, EndUser, Hub
from embed.services import SESSION_TOKEN_PREFIX, session_token_hash
from organisations.authentication import bearer_token
from organisations.models import Organisation

MAX_TOKEN_LENGTH = 100


class InvalidSession(exceptions.AuthenticationFailed):
    default_detail = "The connect session is missing, malformed, unknown, expired or revoked."
    default_code = "invalid_session"


@dataclass
class ConnectSessionPrincipal:
    """``request.user`` for embed callers: one session of one end user of one hub."""

    session: ConnectSession

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_active = True

    @property
    def hub(self) -> Hub:
        return self.session.hub

    @property
    def end_user(self) -> EndUser:
        return self.session.end_user

    @property
    def organisation(self) -> Organisation:
        return self.session.hub.organisation

    @property
    def pk(self) -> str:
        return f"connect-session:{self.session.pk}"

    def __str__(self) -> str:
        return f"connect session {self.session.pk}"


def _well_formed(token: str) -> bool:
    return (
        token.startswith(SESSION_TOKEN_PREFIX)
        and len(token) <= MAX_TOKEN_LENGTH
        and token[len(SESSION_TOKEN_PREFIX) :].replace("-", "").replace("_", "").isalnum()
        and token.isascii()
    )


class ConnectSessionAuthentication(BaseAuthentication):
    """One query: the session by its hash, with its hub, organisation and end user."""

    def authenticate(self, request: Request) -> tuple[ConnectSessionPrincipal, Any]:
        try:
            token = bearer_token(request)
        except exceptions.AuthenticationFailed as exc:
            raise InvalidSession() from exc
        if token is None or not _well_formed(token):
            raise InvalidSession()
        # token_hash is unique, so no ORDER BY: ``first()`` would add one, and compiling it
        # costs Django more than the lookup itself on this hot path.
        found = (
            ConnectSession.objects.select_related("hub__organisation", "end_user")
            .filter(token_hash=session_token_hash(token))
            .order_by()[:1]
        )
        session = next(iter(found), None)
        if session is None or not session.is_usable(timezone.now()):
            raise InvalidSession()
        return ConnectSessionPrincipal(session), session

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="patchbay-embed"'
