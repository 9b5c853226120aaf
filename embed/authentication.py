"""``Authorization: Bearer <connect session token>`` for the embed API (SPEC §3, §8), or a
company-signed end-user token (a JWT, SPEC §11: :class:`EndUserTokenAuthentication`).

Only connect session tokens are accepted here, in the ``Authorization`` header: an
API key or a cookie is not, and a token in the URL's query string is refused with 400
``session_token_in_url`` (URLs end up in access logs, browser history and ``Referer``
headers: such a token has leaked, and the caller must learn so). Every failure —
malformed, unknown, expired, revoked — is the same 401 ``invalid_session``, so a
caller learns nothing about which; the log says which (``core.logs.refusal``, with the
session and hub ids when the token names a session, never the token): a malformed or
unknown token or a revoked session is a warning, a missing header or an expired
session is not.

A company-signed token is for the company's own developers to get right, so its refusals
say why: 401 ``invalid_token`` with the reason in the message (wrong ``aud``, replayed
``jti``, ``exp`` too far ahead, no ``signingKeys``…), logged with the same reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from core.auth_errors import InvalidToken
from core.errors import PatchbayError, not_found
from core.jwks import TokenRefused, looks_like_jwt
from core.logs import INFO, WARNING, refusal
from core.rows import Join, Source
from core.text import parse_uuid
from embed.end_user_tokens import end_user_token_session
from embed.models import ConnectSession, EndUser, Hub
from embed.selectors import hub_by_id
from embed.services import SESSION_TOKEN_PREFIX, NewConnectSession, session_token_hash
from organisations.authentication import bearer_token
from organisations.models import Organisation

MAX_TOKEN_LENGTH = 100
# Query parameters a caller might put a session token in; none of them is a parameter of
# the embed API.
QUERY_TOKEN_NAMES = frozenset(
    {"token", "session", "session_token", "sessiontoken", "access_token", "authorization"}
)

logger = logging.getLogger(__name__)


class InvalidSession(exceptions.AuthenticationFailed):
    default_detail = "The connect session is missing, malformed, unknown, expired or revoked."
    default_code = "invalid_session"


class InvalidEndUserToken(InvalidToken):
    """A company-signed end-user token that is refused; the detail says why."""

    www_authenticate = 'Bearer realm="patchbay-embed", error="invalid_token"'


@dataclass
class ConnectSessionPrincipal:
    """``request.user`` for embed callers: one session of one end user of one hub."""

    session: ConnectSession
    # The session made from a company-signed token by this very request (its token exists
    # only here): what ``POST /embed/{hub_id}/session`` answers.
    exchanged: NewConnectSession | None = None

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

    @property
    def rate_limit_idents(self) -> dict[str, str]:
        """What ``core.ratelimit`` counts this caller under: the session, and its
        organisation (together with that organisation's API keys)."""
        return {"session": str(self.session.pk), "organisation": str(self.session.organisation_id)}

    def __str__(self) -> str:
        return f"connect session {self.session.pk}"


def _well_formed(token: str) -> bool:
    return (
        token.startswith(SESSION_TOKEN_PREFIX)
        and len(token) <= MAX_TOKEN_LENGTH
        and token[len(SESSION_TOKEN_PREFIX) :].replace("-", "").replace("_", "").isalnum()
        and token.isascii()
    )


_SESSION_JOIN = Join(
    Source(ConnectSession, "s"), Source(Hub, "h"), Source(Organisation, "o"), Source(EndUser, "u")
)


@cache
def _session_sql() -> str:
    session, hub, organisation, end_user = _SESSION_JOIN.sources
    return (
        f"SELECT {_SESSION_JOIN.select_list()} FROM {session.table()}"  # noqa: S608
        f" JOIN {hub.table()} ON h.id = s.hub_id"
        f" JOIN {organisation.table()} ON o.id = h.organisation_id"
        f" JOIN {end_user.table()} ON u.id = s.end_user_id"
        " WHERE s.token_hash = %s"
    )


def session_for_token(token: str) -> ConnectSession | None:
    """The session a token names, with its hub, organisation and end user, in ONE query.

    Every embed request starts here, so this is a hand-written join (see ``core.rows``):
    the ORM's ``select_related`` over these four tables spends longer compiling its SQL
    than the database spends answering it. The token is looked up by its hash only.
    """
    rows = _SESSION_JOIN.fetch(_session_sql(), [session_token_hash(token)])
    if not rows:
        return None
    # Inner joins: every instance is there.
    session, hub, organisation, end_user = cast(
        tuple[ConnectSession, Hub, Organisation, EndUser], tuple(rows[0])
    )
    hub.organisation = organisation
    end_user.hub, end_user.organisation = hub, organisation
    session.hub, session.end_user, session.organisation = hub, end_user, organisation
    return session


def _refuse_token_in_query(request: Request) -> None:
    for name, values in request.query_params.lists():
        if name.lower() in QUERY_TOKEN_NAMES or any(
            str(v).startswith(SESSION_TOKEN_PREFIX) for v in values
        ):
            refusal(
                logger,
                "session_token_in_url",
                level=WARNING,
                reason="token_in_query",
                parameter=name[:32] if name.lower() in QUERY_TOKEN_NAMES else None,
            )
            raise PatchbayError(
                "session_token_in_url",
                "Connect session tokens go in the Authorization header only, never in the "
                "URL: this one has been exposed, so mint a new session.",
                400,
            )


class ConnectSessionAuthentication(BaseAuthentication):
    """One query: the session by its hash, with its hub, organisation and end user."""

    def authenticate(self, request: Request) -> tuple[ConnectSessionPrincipal, Any] | None:
        _refuse_token_in_query(request)
        try:
            token = bearer_token(request)
        except exceptions.AuthenticationFailed as exc:
            refusal(logger, "invalid_session", reason="empty_bearer")
            raise InvalidSession() from exc
        if token is None:
            refusal(logger, "invalid_session", reason="no_bearer")
            raise InvalidSession()
        if not token.startswith(SESSION_TOKEN_PREFIX) and looks_like_jwt(token):
            return None  # EndUserTokenAuthentication's
        if not _well_formed(token):
            refusal(logger, "invalid_session", level=WARNING, reason="malformed_token")
            raise InvalidSession()
        session = session_for_token(token)
        if session is None:
            refusal(logger, "invalid_session", level=WARNING, reason="unknown_token")
            raise InvalidSession()
        if not session.is_usable(timezone.now()):
            revoked = session.revoked_at is not None
            refusal(
                logger,
                "invalid_session",
                level=WARNING if revoked else INFO,
                reason="revoked_session" if revoked else "expired_session",
                session_id=session.pk,
                hub_id=session.hub_id,
                organisation_id=session.hub.organisation_id,
            )
            raise InvalidSession()
        return ConnectSessionPrincipal(session), session

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="patchbay-embed"'


class EndUserTokenAuthentication(BaseAuthentication):
    """A company-signed end-user token (:mod:`embed.end_user_tokens`) for the hub in the
    path: verified, its ``jti`` spent, and a connect session made for its end user.

    Comes after :class:`ConnectSessionAuthentication`, which leaves JWT-shaped bearers to
    it (and refuses tokens in the query string first); a session token never gets here.
    """

    def authenticate(self, request: Request) -> tuple[ConnectSessionPrincipal, Any] | None:
        token = bearer_token(request)
        if token is None or not looks_like_jwt(token):
            return None
        hub_id = (request.parser_context or {}).get("kwargs", {}).get("hub_id")
        hub = hub_by_id(hub_id=hub_id)
        if hub is None:
            refusal(logger, "not_found", level=WARNING, reason="end_user_token_unknown_hub")
            raise not_found("hub")
        try:
            new = end_user_token_session(hub=hub, token=token)
        except TokenRefused as exc:
            refusal(
                logger,
                "invalid_token",
                level=INFO if exc.reason == "expired" else WARNING,
                reason=exc.reason,
                hub_id=hub.pk,
                organisation_id=hub.organisation_id,
            )
            raise InvalidEndUserToken(exc.message) from exc
        new.session.hub = hub
        return ConnectSessionPrincipal(new.session, exchanged=new), new.session

    def authenticate_header(self, request: Request) -> str:
        return InvalidEndUserToken.www_authenticate


def check_session_hub(session: ConnectSession, hub_id: object) -> None:
    """A session acts only in its own hub: any other hub id in the path is 404 ``not_found``
    (logged as a warning: a session used against another hub is no accident)."""
    if parse_uuid(hub_id) != session.hub_id:
        refusal(
            logger,
            "not_found",
            level=WARNING,
            reason="another_hub",
            session_id=session.pk,
            hub_id=session.hub_id,
            requested_hub_id=hub_id if isinstance(hub_id, str) else None,
            organisation_id=session.hub.organisation_id,
        )
        raise not_found("hub")
