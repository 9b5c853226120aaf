"""``Authorization: Bearer <api key>`` (SPEC §3) and ``Authorization: Bearer <JWT
id_token>`` (SPEC §11) for the REST API.

The two are told apart at no cost to API keys: a key starts with ``pb_`` and has no
dot; only a token that starts with ``eyJ`` (a JSON header) and has exactly two dots is
handed to ``organisations.idp_authentication``.

Every refusal is logged (``core.logs.refusal``, code ``unauthenticated``) with the key's
prefix and id when known — never the key: a malformed, unknown, wrong, revoked key or a
key in the URL is a warning, an expired key or an empty header is not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, cast

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from core.jwks import looks_like_jwt
from core.logs import INFO, WARNING, refusal
from core.rows import Join, Source
from organisations.keys import KEY_PREFIX, api_key_matches, split_key
from organisations.models import ApiKey, Organisation

# ``last_used_at`` is written at most once per key in this long: the hot path stays
# read-only, and the admin still sees when a key was last used, to the minute.
LAST_USED_RESOLUTION = timedelta(minutes=1)
QUERY_KEY_NAMES = frozenset({"api_key", "apikey", "key", "access_token", "token", "authorization"})

logger = logging.getLogger(__name__)


class OrganisationCaller:
    """``request.user`` for a caller that acts for one organisation (an API key, an IdP's
    id_token): it may use that organisation's paths and no other."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True

    @property
    def organisation(self) -> Organisation:
        raise NotImplementedError

    def log_ids(self) -> dict[str, object]:
        """What a refusal record names this caller by (never a secret)."""
        raise NotImplementedError


@dataclass
class ApiKeyPrincipal(OrganisationCaller):
    """``request.user`` for API-key callers: the organisation the key belongs to."""

    api_key: ApiKey

    @property
    def organisation(self) -> Organisation:
        return self.api_key.organisation

    def log_ids(self) -> dict[str, object]:
        return {"api_key_prefix": self.api_key.prefix, "api_key_id": self.api_key.pk}

    @property
    def pk(self) -> str:
        return f"api-key:{self.api_key.pk}"

    @property
    def rate_limit_idents(self) -> dict[str, str]:
        """What ``core.ratelimit`` counts this caller under."""
        return {"key": str(self.api_key.pk), "organisation": str(self.api_key.organisation_id)}

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


_KEY_JOIN = Join(Source(ApiKey, "k"), Source(Organisation, "o"))


@cache
def _key_sql() -> str:
    key, organisation = _KEY_JOIN.sources
    return (
        f"SELECT {_KEY_JOIN.select_list()} FROM {key.table()}"  # noqa: S608
        f" JOIN {organisation.table()} ON o.id = k.organisation_id WHERE k.prefix = %s"
    )


def api_key_by_prefix(prefix: str) -> ApiKey | None:
    """The key with this prefix (unique) and its organisation, in one query.

    Every API call starts here, so this is a hand-written join (see ``core.rows``): the
    ORM's ``select_related`` spends longer compiling its SQL than the database answering.
    """
    rows = _KEY_JOIN.fetch(_key_sql(), [prefix])
    if not rows:
        return None
    api_key, organisation = cast(tuple[ApiKey, Organisation], tuple(rows[0]))
    api_key.organisation = organisation
    return api_key


def _refuse_key_in_query(request: Request) -> None:
    for name, values in request.query_params.lists():
        if name.lower() in QUERY_KEY_NAMES or any(str(v).startswith(KEY_PREFIX) for v in values):
            # A key in a URL is a leaked key: name its prefix, so it can be revoked.
            prefixes = {p for p in (split_key(str(v)) for v in values) if p is not None}
            refusal(
                logger,
                "unauthenticated",
                level=WARNING,
                reason="api_key_in_query",
                parameter=name[:32] if name.lower() in QUERY_KEY_NAMES else None,
                api_key_prefix=",".join(sorted(prefixes)) or None,
            )
            raise exceptions.AuthenticationFailed(
                "API keys are only accepted in the Authorization header, never in the URL."
            )


def bearer_token(request: Any) -> str | None:
    """The token of an ``Authorization: Bearer`` header.

    None when the header is absent or names another scheme."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if not token:
        raise exceptions.AuthenticationFailed(
            "The Authorization header names no key after 'Bearer'."
        )
    return token


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        _refuse_key_in_query(request)
        try:
            token = bearer_token(request)
        except exceptions.AuthenticationFailed:
            refusal(logger, "unauthenticated", reason="empty_bearer")
            raise
        if token is None:
            return None
        if not token.startswith(KEY_PREFIX) and looks_like_jwt(token):
            return None  # an id_token: IdTokenAuthentication's
        failure = exceptions.AuthenticationFailed("The API key is not valid.")
        prefix = split_key(token)
        if prefix is None:
            refusal(logger, "unauthenticated", level=WARNING, reason="malformed_api_key")
            raise failure
        api_key = api_key_by_prefix(prefix)
        if api_key is None or not api_key_matches(api_key, token):
            _refused(api_key, "unknown_api_key" if api_key is None else "wrong_api_key", prefix)
            raise failure
        now = timezone.now()
        if api_key.revoked_at is not None:
            _refused(api_key, "revoked_api_key", prefix)
            raise exceptions.AuthenticationFailed("The API key has been revoked.")
        if api_key.expires_at is not None and api_key.expires_at <= now:
            _refused(api_key, "expired_api_key", prefix, level=INFO)
            raise exceptions.AuthenticationFailed("The API key has expired.")
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            # At most one write a minute per key: the hot path stays read-only.
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="patchbay"'


def _refused(api_key: ApiKey | None, reason: str, prefix: str, level: int = WARNING) -> None:
    refusal(
        logger,
        "unauthenticated",
        level=level,
        reason=reason,
        api_key_prefix=prefix,
        api_key_id=api_key.pk if api_key is not None else None,
        organisation_id=api_key.organisation_id if api_key is not None else None,
    )
