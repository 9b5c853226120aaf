"""The worker's job: refresh every token that is due, in turn (SPEC §5.3).

Each token goes through :func:`connections.oauth.refresh.token_refresh`'s rules (one
refresh per credential at a time, rotation, cooldown, invalid_grant); this module only
finds what is due and walks it, ``SKIP LOCKED``, so any number of workers share the work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from connections.models import ConnectionCredential, ConnectionStatus
from connections.oauth.access import AccessToken
from connections.oauth.refresh import ReauthorisationRequired, cooldown, refresh_locked
from connectors.models import AuthSchemeConfig
from connectors.oauth2 import OAuth2Config
from core.db import lock_next
from core.errors import PatchbayError
from credentials.models import Credential, CredentialType

logger = logging.getLogger("patchbay.tokens")


# --- The worker's job ----------------------------------------------------------------------


def _max_margin() -> int:
    margins = [
        OAuth2Config.from_settings(settings_).refresh_margin_seconds
        for settings_ in AuthSchemeConfig.objects.filter(type="oauth2").values_list(
            "settings", flat=True
        )
    ]
    return max([0, *margins])


def refresh_candidates(*, now: datetime, horizon: timedelta) -> QuerySet[Credential]:
    """Token credentials expiring before ``now + horizon``, of an active connection, not
    cooling down after a failure. Read from plaintext columns only: nothing is decrypted."""
    active_link = ConnectionCredential.objects.filter(
        credential=OuterRef("pk"), connection__status=ConnectionStatus.ACTIVE
    )
    return (
        Credential.objects.filter(
            type=CredentialType.OAUTH2_TOKEN,
            token_expires_at__isnull=False,
            token_expires_at__lte=now + horizon,
        )
        .filter(Q(refresh_failed_at__isnull=True) | Q(refresh_failed_at__lte=now - cooldown()))
        .filter(Exists(active_link))
        .order_by("token_expires_at", "pk")
    )


@dataclass
class RefreshRun:
    refreshed: int = 0
    failed: int = 0
    needs_reauth: int = 0
    skipped: int = 0

    @property
    def processed(self) -> int:
        return self.refreshed + self.failed + self.needs_reauth


def token_refresh_due(*, limit: int = 100, now: datetime | None = None) -> RefreshRun:
    """Refresh up to ``limit`` tokens that are due, one row lock and transaction each.

    Safe with any number of workers: each takes the next due credential nobody holds
    (``SKIP LOCKED``), re-checks it under the lock, refreshes it and commits. A failed
    refresh goes into cooldown (and stays due after it); a refused one takes the
    connection out of the active set. So no token is refreshed twice for one expiry and
    none is lost.
    """
    run = RefreshRun()
    horizon = timedelta(seconds=_max_margin())
    passed: list[Any] = []  # examined this run and not due for their own config
    while run.processed + run.skipped < limit:
        moment = now or timezone.now()
        current: Any = None
        try:
            with transaction.atomic():
                candidates = refresh_candidates(now=moment, horizon=horizon).exclude(pk__in=passed)
                locked = lock_next(candidates)
                if locked is None:
                    break
                current = locked.pk
                outcome, before = _refresh_due_one(locked, moment)
        except Exception as exc:
            if current is None:
                raise  # not about one credential (the database itself): let the worker see it
            # One credential the job cannot handle (e.g. its ciphertext no longer decrypts)
            # must not stop every refresh due after it: skip it for this run, say which.
            # The exception's text is not logged: only its kind.
            logger.error("refresh of credential %s failed: %s", current, type(exc).__name__)
            passed.append(current)
            run.failed += 1
            continue
        if outcome is None:
            passed.append(current)
            run.skipped += 1
        elif isinstance(outcome, ReauthorisationRequired):
            run.needs_reauth += 1
        elif isinstance(outcome, PatchbayError):
            run.failed += 1
        elif outcome.access_token != before:
            run.refreshed += 1
        else:
            passed.append(current)
            run.skipped += 1
    return run


def _refresh_due_one(
    locked: Credential, moment: datetime
) -> tuple[AccessToken | PatchbayError | None, str | None]:
    """Refresh one locked due credential: (outcome, the access token before), or
    (None, None) when there is nothing to refresh after all."""
    link = (
        ConnectionCredential.objects.filter(
            credential=locked, connection__status=ConnectionStatus.ACTIVE
        )
        .select_related("connection", "auth_scheme_config", "client_credential")
        .order_by("position", "id")
        .first()
    )
    if link is None:  # pragma: no cover - the candidate query requires one
        return None, None
    link.credential = locked
    try:
        before = AccessToken.from_credential(locked).access_token
    except PatchbayError:
        return None, None
    return refresh_locked(locked, link, force=False, seen=None, now=moment), before
