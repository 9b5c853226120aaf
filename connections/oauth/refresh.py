"""Keeping a connection's OAuth 2.0 token fresh (SPEC §5.3).

One function renews a token, whoever asks: the access-token endpoint
(:func:`access_token_get`), the worker (:func:`token_refresh_due`) and the admin's
"Refresh token now" (:func:`token_refresh`). The rules, and why:

* **One refresh per credential at a time, across processes.** The token
  credential's row is locked (``SELECT ... FOR UPDATE``) for the whole refresh,
  provider call included; whoever waited re-reads the row once it has the lock and,
  when the token changed meanwhile, answers with it without calling the provider.
  Rotating providers invalidate a refresh token once used, so two concurrent
  refreshes would make one of them fail: the lock is what makes rotation safe. The
  lock is held at most for the outbound timeouts (``PATCHBAY_HTTP_*_TIMEOUT``).
  SQLite has no row locks and locks the whole file for a transaction that has read,
  so there (``make run``, whose provider is served by the same process) a lock of the
  process serialises refreshes instead and no transaction spans the provider call.
* **Rotation is atomic**: the new access and refresh tokens are written in the
  transaction that holds the lock; a response without ``refresh_token`` keeps the old.
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
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from connections.models import Connection, ConnectionCredential, ConnectionStatus
from connections.oauth.access import AccessToken, token_link
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
    row.save()
    logger.info(
        "token refreshed credential=%s rotated=%s",
        row.pk,
        bool(renewal.refresh_token),
    )
    return AccessToken.from_credential(row)


def refresh_locked(
    locked: Credential,
    link: ConnectionCredential,
    *,
    force: bool,
    seen: str | None,
    now: datetime,
) -> AccessToken | PatchbayError:
    """The refresh itself, on a credential row this transaction has locked.

    Returns the token, or the error to raise once the transaction has committed (the
    outcome of a failure — errors, status, cooldown, events — must be kept).
    """
    current = AccessToken.from_credential(locked)
    early = _refresh_precheck(locked, current, link, force=force, seen=seen, now=now)
    if early is not None:
        return early
    data = locked.data if isinstance(locked.data, dict) else {}
    return _refresh_record(locked, data, current, _renewal(link, data), force=force, now=now)


def _refresh_serialised(
    link: ConnectionCredential, *, force: bool, seen: str | None, now: datetime
) -> AccessToken | PatchbayError:
    """The refresh where the database has no row locks (SQLite), under the process lock.

    No transaction is open while the provider is called: SQLite locks the whole
    database for as long as a transaction that has read holds it, and the provider may
    be served by this very process writing to the same file (the demo's), so it could
    never commit and the refresh would always fail with "database is locked". The
    process lock serialises refreshes of one credential instead; the outcome is written
    in a short transaction after re-reading the row, and a token that another process
    stored meanwhile is kept and returned rather than overwritten.
    """
    row = _credential_row(link.credential_id)
    current = AccessToken.from_credential(row)
    early = _refresh_precheck(row, current, link, force=force, seen=seen, now=now)
    if early is not None:
        return early
    data = row.data if isinstance(row.data, dict) else {}
    renewal = _renewal(link, data)
    with transaction.atomic():
        row = _credential_row(link.credential_id)
        stored = AccessToken.from_credential(row)
        if stored.access_token != current.access_token:
            logger.info("token refreshed meanwhile elsewhere credential=%s", row.pk)
            return stored
        return _refresh_record(row, data, current, renewal, force=force, now=now)


def _credential_row(pk: Any, *, lock: bool = False) -> Credential:
    queryset = Credential.objects.select_for_update() if lock else Credential.objects
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise PatchbayError(
            "no_oauth2_credential", "The connection has no OAuth 2.0 token credential.", 400
        )
    return row


_process_locks: dict[Any, threading.Lock] = {}
_process_locks_guard = threading.Lock()


@contextmanager
def _process_lock(key: Any) -> Iterator[None]:
    """Serialise refreshes of one credential within the process (for SQLite: one
    process, threads)."""
    with _process_locks_guard:
        lock = _process_locks.setdefault(key, threading.Lock())
    with lock:
        yield


def token_refresh(
    *, link: ConnectionCredential, force: bool = False, seen: str | None = None
) -> AccessToken:
    """Refresh ``link``'s token credential now (``force``) or when it is due, one at a time.

    PostgreSQL: under the credential's row lock, held across the provider call. SQLite
    (no row locks): under a lock of this process, with no transaction open across the
    provider call (:func:`_refresh_serialised`).

    ``seen`` is the access token the caller read before asking: if the stored one differs
    once the lock is held, someone else refreshed it and that result is returned.
    Raises :class:`ReauthorisationRequired` (409) or :class:`TokenRefreshFailed` (502).
    """
    now = timezone.now()
    retry_after = _retry_after(link.credential, now)
    if retry_after is not None:
        raise _failed(None, retry_after)  # cooling down: not even a lock
    outcome: AccessToken | PatchbayError
    if db_connection.features.has_select_for_update:
        with transaction.atomic():
            locked = _credential_row(link.credential_id, lock=True)
            outcome = refresh_locked(locked, link, force=force, seen=seen, now=now)
    else:
        with _process_lock(link.credential_id):
            outcome = _refresh_serialised(link, force=force, seen=seen, now=now)
    if isinstance(outcome, PatchbayError):
        raise outcome
    return outcome


def access_token_get(connection: Connection, *, force_refresh: bool = False) -> AccessToken:
    """The access token of ``connection``, refreshed first when due or when forced.

    Due means expiring within the config's ``refreshMarginSeconds``; a token without an
    expiry is used until the provider refuses it (then ``force_refresh``). Never returns
    the refresh token.
    """
    link = token_link(connection)
    current = AccessToken.from_credential(link.credential)
    if not force_refresh and not refresh_due(current, config_of(link)):
        return current
    link.connection = connection
    return token_refresh(link=link, force=force_refresh, seen=current.access_token)
