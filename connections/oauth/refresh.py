"""Keeping a connection's OAuth 2.0 token fresh (SPEC §5.3).

One function renews a token, whoever asks: the access-token endpoint
(:func:`access_token_get`), the worker (:func:`token_refresh_due`) and the admin's
"Refresh token now" (:func:`token_refresh`). The rules, and why:

* **One refresh per credential at a time, across processes.** The credential's refresh
  lock (:mod:`connections.oauth.refresh_lock`: an advisory lock on PostgreSQL, a lock of
  the process on SQLite) is held from before the row is read until the outcome has
  committed; whoever finds it taken waits for it to be released (they all wake together,
  nobody polls), re-reads the row and, when the token changed meanwhile, answers with it
  without calling the provider. Rotating providers invalidate a refresh token once used,
  so two concurrent refreshes would make one of them fail: the lock is what makes
  rotation safe. No transaction and no row lock is open while the provider is called
  (at most ``PATCHBAY_HTTP_TOKEN_DEADLINE_SECONDS``): the outcome is written in a short
  transaction afterwards, after re-reading the row.
* **Rotation is atomic**: the new access and refresh tokens are written in one
  transaction, under the refresh lock; a response without ``refresh_token`` keeps the old.
* **invalid_grant** (the provider refused the refresh token or password): the
  connection becomes ``needs_reauth``, the credential's ``errors`` say why, 409
  ``reauthorisation_required``; nothing asks the provider again until a new
  authorisation.
* **Any other failure** (5xx, timeout, HTML, not JSON, no ``access_token``): 502
  ``token_refresh_failed``, and ``refresh_failed_at`` starts a per-credential
  cooldown during which the provider is not called again.
* Client-credentials and password grants have no browser step: without a refresh
  token (or when it is refused) the token is fetched again with the grant.

Events (``connection.refresh_failed``, ``connection.needs_reauth``) are emitted in
the transaction that records the outcome. None of them, nor any log line here,
carries a token, secret or password.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from connections.models import Connection, ConnectionCredential, ConnectionStatus
from connections.oauth.access import AccessToken, token_link
from connections.oauth.refresh_lock import refresh_lock, refresh_lock_wait, wait_seconds
from connections.oauth.renewal import (
    config_of,
    merged_token_data,
    renew,
    token_source,
)
from connections.oauth.tokens import TokenRequestError, TokenSet
from connectors.oauth2 import OAuth2Config
from core.errors import PatchbayError
from credentials.models import Credential
from webhooks.services import event_emit

logger = logging.getLogger("patchbay.tokens")

DEFAULT_COOLDOWN_SECONDS = 30


def cooldown() -> timedelta:
    return timedelta(
        seconds=getattr(settings, "PATCHBAY_REFRESH_COOLDOWN_SECONDS", DEFAULT_COOLDOWN_SECONDS)
    )


@dataclass
class TokenRefreshFailed(PatchbayError):
    """502 ``token_refresh_failed``: try again after ``retry_after`` seconds."""

    code: str = "token_refresh_failed"
    message: str = "The provider did not refresh the token."
    status: int = 502
    provider_error: str | None = None
    retry_after: int = DEFAULT_COOLDOWN_SECONDS

    def as_dict(self) -> dict[str, object]:
        body = super().as_dict()
        if self.provider_error:
            body["providerError"] = self.provider_error
        body["retryAfter"] = self.retry_after
        return body


@dataclass
class ReauthorisationRequired(PatchbayError):
    """409 ``reauthorisation_required``: only a new authorisation can give a token again."""

    code: str = "reauthorisation_required"
    message: str = "The provider refused the grant: the connection must be re-authorised."
    status: int = 409
    provider_error: str | None = field(default=None)

    def as_dict(self) -> dict[str, object]:
        body = super().as_dict()
        if self.provider_error:
            body["providerError"] = self.provider_error
        return body


# --- When ---------------------------------------------------------------------------


def refresh_due(token: AccessToken, config: OAuth2Config, *, now: datetime | None = None) -> bool:
    """True when the token expires within the config's margin. No expiry: never due."""
    if token.expires_at is None:
        return False
    now = now or timezone.now()
    return token.expires_at - now <= timedelta(seconds=max(0, config.refresh_margin_seconds))


def _retry_after(credential: Credential, now: datetime) -> int | None:
    """Seconds left of the credential's cooldown, or None when it is not cooling down."""
    if credential.refresh_failed_at is None:
        return None
    left = (credential.refresh_failed_at + cooldown() - now).total_seconds()
    return max(1, math.ceil(left)) if left > 0 else None


# --- The refresh ----------------------------------------------------------------------------


def _event_data(connection: Connection, credential: Credential, **extra: Any) -> dict[str, Any]:
    return {
        "connectionId": str(connection.pk),
        "connectorId": str(connection.connector_id),
        "credentialId": str(credential.pk),
        **extra,
    }


def _connections_of(credential: Credential) -> QuerySet[Connection]:
    return Connection.objects.filter(connection_credentials__credential=credential).distinct()


def _record_refused(credential: Credential, error: TokenRequestError) -> None:
    """invalid_grant: the credential's errors say why; its connections need re-authorising."""
    provider_error = error.provider_error or "invalid_grant"
    reason = {
        "no_refresh_token": "no refresh token: the connection must be re-authorised",
        "no_password_credential": "no password credential for the password grant",
    }.get(error.reason, "refresh token refused")
    credential.errors = [f"{provider_error}: {reason}"]
    credential.save(update_fields=["errors", "updated_at"])
    for connection in _connections_of(credential).exclude(status=ConnectionStatus.NEEDS_REAUTH):
        Connection.objects.filter(pk=connection.pk).update(
            status=ConnectionStatus.NEEDS_REAUTH, updated_at=timezone.now()
        )
        event_emit(
            organisation=connection.organisation,
            type="connection.needs_reauth",
            data=_event_data(
                connection, credential, status=ConnectionStatus.NEEDS_REAUTH, error=provider_error
            ),
        )
        logger.warning(
            "connection needs re-authorisation id=%s credential=%s error=%s",
            connection.pk,
            credential.pk,
            provider_error,
        )


def _record_failed(credential: Credential, error: TokenRequestError, now: datetime) -> None:
    credential.refresh_failed_at = now
    credential.save(update_fields=["refresh_failed_at", "updated_at"])
    for connection in _connections_of(credential):
        event_emit(
            organisation=connection.organisation,
            type="connection.refresh_failed",
            data=_event_data(
                connection,
                credential,
                status=connection.status,
                error=error.provider_error or error.reason,
                retryAfter=int(cooldown().total_seconds()),
            ),
        )
    logger.warning(
        "token refresh failed credential=%s reason=%s provider_error=%s",
        credential.pk,
        error.reason,
        error.provider_error,
    )


def _refused(error: TokenRequestError) -> ReauthorisationRequired:
    return ReauthorisationRequired(provider_error=error.provider_error or "invalid_grant")


def _failed(error: TokenRequestError | None, retry_after: int) -> TokenRefreshFailed:
    if error is None:
        message = f"The last refresh failed; retrying is possible in {retry_after} s."
    else:
        message = f"The provider did not refresh the token ({error.reason})."
    return TokenRefreshFailed(
        message=message,
        provider_error=error.provider_error if error is not None else None,
        retry_after=retry_after,
    )


def _refresh_precheck(
    row: Credential,
    current: AccessToken,
    link: ConnectionCredential,
    *,
    force: bool,
    seen: str | None,
    now: datetime,
) -> AccessToken | PatchbayError | None:
    """What to answer without calling the provider, or None when the token must be renewed."""
    if seen is not None and current.access_token != seen:
        return current  # refreshed by someone else while we waited for the lock
    if not force and not refresh_due(current, config_of(link), now=now):
        return current
    if link.connection.status == ConnectionStatus.NEEDS_REAUTH:
        return ReauthorisationRequired(
            message="The connection needs re-authorisation before it gets a new token."
        )
    retry_after = _retry_after(row, now)
    if retry_after is not None:
        return _failed(None, retry_after)
    return None


def _renewal(link: ConnectionCredential, data: dict[str, Any]) -> TokenSet | TokenRequestError:
    """The provider's answer to a renewal: new tokens, or why there are none."""
    try:
        return renew(token_source(link), data)
    except TokenRequestError as exc:
        return exc


def _refresh_record(
    row: Credential,
    data: dict[str, Any],
    current: AccessToken,
    renewal: TokenSet | TokenRequestError,
    *,
    force: bool,
    now: datetime,
) -> AccessToken | PatchbayError:
    """Write the outcome of a renewal onto the credential row (in the caller's transaction)."""
    if isinstance(renewal, TokenRequestError):
        exc = renewal
        if (
            exc.reason == "no_refresh_token"
            and not force
            and (current.expires_at is None or current.expires_at > now)
        ):
            return current  # nothing can renew it, but it still works
        if exc.refused:
            _record_refused(row, exc)
            return _refused(exc)
        _record_failed(row, exc, now)
        return _failed(exc, int(cooldown().total_seconds()))
    row.data = cast(Any, merged_token_data(data, renewal))
    row.errors = []
    row.refresh_failed_at = None
    row.save(update_fields=["data", "errors", "refresh_failed_at", "updated_at"])
    logger.info(
        "token refreshed credential=%s rotated=%s",
        row.pk,
        bool(renewal.refresh_token),
    )
    return AccessToken.from_credential(row)


def _refresh_now(
    link: ConnectionCredential, *, force: bool, seen: str | None, now: datetime
) -> tuple[AccessToken | PatchbayError, bool]:
    """The refresh itself, under the refresh lock: (outcome, whether anything was recorded).

    The row is read again first (unless it has not changed since ``link.credential`` was
    read): the lock's previous holder may have refreshed it. No transaction is open while
    the provider is called. The outcome is written in a short transaction under a row lock,
    and a token that something not taking the refresh lock (a new authorisation) stored
    meanwhile is kept and returned rather than overwritten. The outcome of a failure
    (errors, status, cooldown, events) is committed too; the error is returned for the
    caller to raise.
    """
    pk = link.credential_id
    row = link.credential if _version(pk) == link.credential.updated_at else _credential_row(pk)
    current = AccessToken.from_credential(row)
    early = _refresh_precheck(row, current, link, force=force, seen=seen, now=now)
    if early is not None:
        return early, False
    data = row.data if isinstance(row.data, dict) else {}
    renewal = _renewal(link, data)
    with transaction.atomic():
        if _version(pk, lock=True) != row.updated_at:  # written meanwhile: by whom?
            row = _credential_row(pk)
            stored = AccessToken.from_credential(row)
            if stored.access_token != current.access_token:
                logger.info("token refreshed meanwhile elsewhere credential=%s", pk)
                return stored, True
        outcome = _refresh_record(row, data, current, renewal, force=force, now=now)
    # False when nothing could renew it and it was kept as it is (no refresh token yet).
    unchanged = isinstance(outcome, AccessToken) and outcome.access_token == current.access_token
    return outcome, not unchanged


def _version(pk: Any, *, lock: bool = False) -> datetime | None:
    """When credential ``pk`` was last written (``updated_at``), without decrypting it;
    with ``lock``, row-locked until the transaction ends. None: it is gone."""
    queryset = Credential.objects.filter(pk=pk)
    if lock:
        queryset = queryset.select_for_update()
    try:
        return queryset.values_list("updated_at", flat=True).get()
    except Credential.DoesNotExist:
        return None


def _credential_row(pk: Any) -> Credential:
    row = Credential.objects.filter(pk=pk).order_by().first()
    if row is None:
        raise PatchbayError(
            "no_oauth2_credential", "The connection has no OAuth 2.0 token credential.", 400
        )
    return row


def token_refresh_if_free(
    link: ConnectionCredential, *, now: datetime
) -> tuple[AccessToken | PatchbayError | None, bool]:
    """The worker's refresh of a due token: (outcome, whether anything was recorded), or
    (None, False) at once when someone else holds its refresh lock (they are refreshing it)."""
    with refresh_lock(link.credential_id) as held:
        if not held:
            return None, False
        return _refresh_now(link, force=False, seen=None, now=now)


def _refresh_one_at_a_time(
    link: ConnectionCredential, *, force: bool, seen: str | None, now: datetime
) -> AccessToken | PatchbayError:
    """Refresh under the credential's refresh lock, or wait for whoever holds it and use what
    they stored (:mod:`connections.oauth.refresh_lock`)."""
    give_up = time.monotonic() + wait_seconds()
    while True:
        with refresh_lock(link.credential_id) as held:
            if held:
                return _refresh_now(link, force=force, seen=seen, now=now)[0]
        if not refresh_lock_wait(link.credential_id, timeout=give_up - time.monotonic()):
            logger.warning("token refresh gave up waiting credential=%s", link.credential_id)
            return TokenRefreshFailed(
                message="Another refresh of this token is taking too long; try again shortly.",
                retry_after=1,
            )
        row = _credential_row(link.credential_id)
        current = AccessToken.from_credential(row)
        early = _refresh_precheck(row, current, link, force=force, seen=seen, now=timezone.now())
        if early is not None:
            return early
        # Still due: the refresh we waited for stored nothing. Take the lock ourselves.


def token_refresh(
    *, link: ConnectionCredential, force: bool = False, seen: str | None = None
) -> AccessToken:
    """Refresh ``link``'s token credential now (``force``) or when it is due, one at a time.

    Under the credential's refresh lock (:mod:`connections.oauth.refresh_lock`: an advisory
    lock on PostgreSQL, a lock of this process on SQLite), with no transaction open across
    the provider call. Whoever finds the lock taken waits for it and answers with what the
    holder stored.

    ``seen`` is the access token the caller read before asking: if the stored one differs
    once the lock is free, someone else refreshed it and that result is returned.
    Raises :class:`ReauthorisationRequired` (409) or :class:`TokenRefreshFailed` (502).
    """
    now = timezone.now()
    retry_after = _retry_after(link.credential, now)
    if retry_after is not None:
        raise _failed(None, retry_after)  # cooling down: not even a lock
    outcome = _refresh_one_at_a_time(link, force=force, seen=seen, now=now)
    if isinstance(outcome, PatchbayError):
        raise outcome
    return outcome


def access_token_get(
    connection: Connection,
    *,
    force_refresh: bool = False,
    link: ConnectionCredential | None = None,
) -> AccessToken:
    """The access token of ``connection``, refreshed first when due or when forced.

    Due means expiring within the config's ``refreshMarginSeconds``; a token without an
    expiry is used until the provider refuses it (then ``force_refresh``). Never returns
    the refresh token. ``link``: the token link, when the caller read it already
    (``connections.selectors.connection_token_link``).
    """
    if link is None:
        link = token_link(connection)
    current = AccessToken.from_credential(link.credential)
    if not force_refresh and not refresh_due(current, config_of(link)):
        return current
    link.connection = connection
    return token_refresh(link=link, force=force_refresh, seen=current.access_token)
