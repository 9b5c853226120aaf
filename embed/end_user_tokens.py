"""Company-signed end-user tokens (SPEC §11): a JWT that the company's backend signs with a
key registered in the hub's ``signingKeys`` and that its page hands the widget instead of
a minted connect session token. Patchbay verifies it and turns it into a connect session.

Why each check:

* **The signature** (:func:`core.jwks.jwt_verify`): only with the hub's own keys, the one
  the token's ``kid`` names, and only with that key's asymmetric algorithms — ``none``,
  ``HS256`` keyed with the public key, another hub's key all fail. A hub without keys
  accepts no such token at all.
* **``aud`` is this hub's id**: a token signed for another hub (of the same company, same
  key) is refused here, not silently moved to the hub in the URL.
* **``exp`` at most 15 minutes ahead** (a connect session's lifetime), ``nbf``/``iat``
  when present, each with 60 s of clock leeway: a token is short-lived by construction,
  whatever the company's backend put in it.
* **``jti`` once**: the first use inserts ``(hub, jti)`` under a unique constraint, in the
  same transaction that creates the session; a second use — later, or at the very same
  moment in another process — fails that insert and is refused as replayed. The row is
  kept until the token can no longer be used (``exp`` + leeway) and deleted by a later use
  at the same hub, so the table holds only live tokens.
* **``sub``** names the end user by the company's ``externalId`` (created on first use,
  as a minted session would); an optional ``name`` replaces the display name.

Refusals raise :class:`core.jwks.TokenRefused` (reason for the log, message for the 401);
nothing is written for a refused token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.jwks import LEEWAY_SECONDS, TokenRefused, jwt_verify
from core.text import has_control_characters
from embed.models import EndUserTokenUse, Hub
from embed.services import SESSION_TTL, NewConnectSession, connect_session_create

MAX_CLAIM_CHARS = 200
REQUIRED_CLAIMS = ("exp", "sub", "aud", "jti")


def _text_claim(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_CLAIM_CHARS
        or has_control_characters(value)
    ):
        raise TokenRefused(
            f"bad_{name}",
            f"The token's {name} must be a non-empty string of at most {MAX_CLAIM_CHARS} "
            "characters without control characters.",
        )
    return value


def _use_once(hub: Hub, jti: str, until: datetime) -> None:
    """Record ``jti`` as used at ``hub`` until ``until``; :class:`TokenRefused` when it
    already is. Runs inside the caller's transaction."""
    now = timezone.now()
    EndUserTokenUse.objects.filter(hub=hub, expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            EndUserTokenUse.objects.create(hub=hub, jti=jti, expires_at=until, used_at=now)
    except IntegrityError as exc:
        raise TokenRefused(
            "replayed", "The token has been used already (jti): sign a new one for each use."
        ) from exc


def end_user_token_session(*, hub: Hub, token: str) -> NewConnectSession:
    """A connect session of ``hub`` for the end user a company-signed ``token`` names.

    The session lasts as long as the token may be used (its ``exp`` plus the leeway, at
    most 15 minutes from now); :class:`~core.jwks.TokenRefused` when the token is not
    accepted (see the module docstring), with nothing written.
    """
    claims = jwt_verify(
        token,
        (hub.signing_keys or {}).get("keys") or [],
        audience=str(hub.pk),
        require=REQUIRED_CLAIMS,
        max_seconds_ahead=int(SESSION_TTL.total_seconds()),
        leeway=LEEWAY_SECONDS,
    )
    external_id, jti = _text_claim(claims, "sub"), _text_claim(claims, "jti")
    name = None if claims.get("name") is None else _text_claim(claims, "name")
    usable_until = datetime.fromtimestamp(int(claims["exp"]), UTC) + timedelta(
        seconds=LEEWAY_SECONDS
    )
    expires_at = min(usable_until, timezone.now() + SESSION_TTL)
    with transaction.atomic():
        _use_once(hub, jti, usable_until)
        return connect_session_create(
            hub=hub, external_id=external_id, display_name=name, expires_at=expires_at
        )
