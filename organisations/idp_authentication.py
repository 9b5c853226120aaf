"""``Authorization: Bearer <JWT id_token>`` from the IdP, for internal consumers (SPEC §11).

The token is verified by :func:`core.jwks.jwt_verify` against the IdP's keys
(:mod:`organisations.idp`; a ``kid`` they lack refetches them, at most once a minute):
signature with an asymmetric algorithm the key allows, ``iss`` exactly
``PATCHBAY_IDP_ISSUER``, ``aud`` containing ``PATCHBAY_IDP_AUDIENCE``, ``exp`` and
``iat`` required, ``nbf``, 60 s leeway. The organisation is the one the claim
``PATCHBAY_IDP_ORGANISATION_CLAIM`` names (its id); the caller then acts for it exactly
as one of its API keys would (others' paths are 404, ``organisations.tenancy``).

Every failure is 401 ``invalid_token`` with ``WWW-Authenticate: Bearer
error="invalid_token"``, logged once (``refused invalid_token reason=...``) with the
``kid`` and, once verified, the subject — never the token. When the IdP's keys cannot be
had at all the answer is 503 ``idp_unavailable``: the token was not judged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from core.auth_errors import InvalidToken, ServiceUnavailable
from core.jwks import MAX_KID_CHARS, TokenRefused, jwt_verify, looks_like_jwt
from core.logs import INFO, WARNING, refusal
from core.text import parse_uuid
from organisations import idp
from organisations.authentication import OrganisationCaller, bearer_token
from organisations.keys import KEY_PREFIX
from organisations.models import Organisation

logger = logging.getLogger(__name__)

MAX_SUBJECT_LENGTH = 255
# Ordinary for a token past its time; everything else points at a forger or a
# misconfigured consumer.
_INFO_REASONS = frozenset({"expired"})


@dataclass
class IdTokenPrincipal(OrganisationCaller):
    """``request.user`` for an internal consumer: the organisation its id_token names."""

    organisation_row: Organisation
    subject: str

    @property
    def organisation(self) -> Organisation:
        return self.organisation_row

    @property
    def pk(self) -> str:
        return f"id-token:{self.subject}"

    @property
    def rate_limit_idents(self) -> dict[str, str]:
        """``core.ratelimit``: each subject is counted like one API key."""
        return {"key": f"idp:{self.subject}", "organisation": str(self.organisation_row.pk)}

    def log_ids(self) -> dict[str, object]:
        return {"idp_subject": self.subject}

    def __str__(self) -> str:
        return f"id_token of {self.subject}"


def _verified_claims(token: str) -> dict[str, Any]:
    def verify(keys: list[dict[str, Any]]) -> dict[str, Any]:
        return jwt_verify(
            token,
            keys,
            audience=settings.PATCHBAY_IDP_AUDIENCE,
            issuer=settings.PATCHBAY_IDP_ISSUER,
            require=("exp", "iat"),
        )

    try:
        return verify(idp.signing_keys())
    except TokenRefused as exc:
        if exc.reason not in ("unknown_kid", "no_kid"):
            raise
        refetched = idp.signing_keys_refetched()  # the IdP may have rotated its keys
        if refetched is None:
            raise
        return verify(refetched)


def _kid_for_log(token: str) -> str | None:
    """The header's ``kid`` when it is a short printable string (it is the caller's)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return None
    if isinstance(kid, str) and len(kid) <= MAX_KID_CHARS and kid.isascii() and kid.isprintable():
        return kid
    return None


def _refuse(reason: str, message: str, **ids: object) -> InvalidToken:
    level = INFO if reason in _INFO_REASONS else WARNING
    refusal(logger, "invalid_token", level=level, reason=reason, **ids)
    return InvalidToken(message)


class IdTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[IdTokenPrincipal, None] | None:
        token = bearer_token(request)
        if token is None or token.startswith(KEY_PREFIX) or not looks_like_jwt(token):
            return None  # ApiKeyAuthentication has judged it
        if not idp.configured():
            raise _refuse("idp_not_configured", "JWTs are not accepted: no IdP is configured.")
        try:
            claims = _verified_claims(token)
        except TokenRefused as exc:
            raise _refuse(exc.reason, exc.message, kid=_kid_for_log(token)) from None
        except idp.IdpUnavailable as exc:
            refusal(logger, "idp_unavailable", level=WARNING, reason=exc.reason)
            raise ServiceUnavailable(
                "The IdP's signing keys cannot be fetched now; try again shortly.",
                code="idp_unavailable",
            ) from None
        subject = claims.get("sub")
        subject = subject[:MAX_SUBJECT_LENGTH] if isinstance(subject, str) and subject else "-"
        claim = settings.PATCHBAY_IDP_ORGANISATION_CLAIM
        value = claims.get(claim)
        if value is None:
            raise _refuse(
                "missing_organisation",
                f"The token has no {claim!r} claim.",
                idp_subject=subject,
            )
        organisation_id = parse_uuid(value) if isinstance(value, str) else None
        organisation = (
            Organisation.objects.filter(pk=organisation_id).first() if organisation_id else None
        )
        if organisation is None:
            raise _refuse(
                "unknown_organisation",
                f"The token's {claim!r} claim names no organisation.",
                idp_subject=subject,
            )
        return IdTokenPrincipal(organisation_row=organisation, subject=subject), None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer error="invalid_token"'
