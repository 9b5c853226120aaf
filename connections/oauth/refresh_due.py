"""The worker's job: refresh every token that is due, in claimed batches (SPEC §5.3).

Each token goes through :mod:`connections.oauth.refresh`'s rules (one refresh per
credential at a time, rotation, cooldown, invalid_grant); this module finds what is due
and shares it out among any number of workers:

1. **Claim a batch** in one short transaction: the next ``BATCH_SIZE`` due rows nobody has
   claimed, ``SELECT … ORDER BY token_expires_at LIMIT n FOR UPDATE SKIP LOCKED`` on the
   partial index ``credential_refresh_due`` (tokens with an expiry only), then mark them
   ``refresh_claimed_until = now + CLAIM_SECONDS`` and commit. Other workers' claims skip
   those rows; a crashed worker's claims run out and the rows are due again.
2. **Refresh each** with no transaction open across the provider call: take its refresh
   lock without waiting (held by someone else: an API request is refreshing it now, skip
   it), re-read the row under the lock, call the provider, write the outcome back.
3. **Release** the batch's claims that are still this worker's, in one statement.

The claim only shares the work out; the refresh lock and the re-read under it are what make
sure no token is refreshed twice for one expiry (a claim that ran out while its worker
was still busy costs a wasted look, never a second refresh). A failed refresh goes into
cooldown (and is due again after it); a refused one takes the connection out of the active
set; so none is lost.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from connections.models import Connection, ConnectionCredential, ConnectionStatus
from connections.oauth.access import AccessToken
from connections.oauth.refresh import ReauthorisationRequired, cooldown, token_refresh_if_free
from connectors.models import AuthSchemeConfig
from connectors.oauth2 import OAuth2Config
from core.db import lock_batch
from core.errors import PatchbayError
from credentials.models import Credential, CredentialType

logger = logging.getLogger("patchbay.tokens")

BATCH_SIZE = 100
# How long a claim keeps other workers off a batch. A worker stops taking items from a
# batch whose claim is about to run out (leaving CLAIM_MARGIN_SECONDS for the provider
# call in hand), so a slow provider costs a smaller batch, not a second refresh.
CLAIM_SECONDS = 120
CLAIM_MARGIN_SECONDS = 30


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
    cooling down after a failure and not claimed by a worker, in due order. Read from
    plaintext columns only: nothing is decrypted.

    Shaped so that the plan stays on the partial index ``credential_refresh_due`` whatever
    the statistics say (right after a bulk import they say nothing true): its condition
    (``token_expires_at IS NOT NULL``) and its order are the query's, and "has an active
    connection" is a scalar subquery per row — the credential's links by ``credential_id``,
    each link's connection by primary key — which PostgreSQL does not turn into a join.
    (An ``EXISTS`` it does, and on stale statistics it then starts from the connections
    and reads all of them for every due row.)
    """
    status = Connection.objects.filter(pk=OuterRef("connection_id")).order_by().values("status")
    active_link = (
        ConnectionCredential.objects.filter(credential=OuterRef("pk"))
        .alias(status=Subquery(status[:1]))
        .filter(status=ConnectionStatus.ACTIVE)
        .order_by()
        .values("pk")[:1]
    )
    return (
        Credential.objects.filter(
            token_expires_at__isnull=False,
            token_expires_at__lte=now + horizon,
            type=CredentialType.OAUTH2_TOKEN,
        )
        .filter(Q(refresh_failed_at__isnull=True) | Q(refresh_failed_at__lte=now - cooldown()))
        .filter(Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lt=now))
        .alias(active_link=Subquery(active_link))
        .filter(active_link__isnull=False)
        .order_by("token_expires_at", "pk")
    )


@dataclass
class Claim:
    """A batch of due credentials this worker has claimed until ``until``."""

    ids: list[Any]
    until: datetime
    deadline: float = field(default=0.0)  # time.monotonic() after which no item is started


def refresh_claim(*, now: datetime, horizon: timedelta, size: int, passed: list[Any]) -> Claim:
    """Claim the next ``size`` due credentials nobody else holds (one short transaction)."""
    until = now + timedelta(seconds=CLAIM_SECONDS)
    due = refresh_candidates(now=now, horizon=horizon).exclude(pk__in=passed)
    with transaction.atomic():
        if db_connection.vendor == "postgresql":
            # On stale statistics the planner's guesses can make this short query look
            # big enough to compile (JIT): a second of compiling for a millisecond's read.
            with db_connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        ids = lock_batch(due.values_list("pk", flat=True), size)
        if ids:
            Credential.objects.filter(pk__in=ids).update(refresh_claimed_until=until)
    return Claim(ids, until, time.monotonic() + CLAIM_SECONDS - CLAIM_MARGIN_SECONDS)


def refresh_release(claim: Claim) -> None:
    """Give back the claims of ``claim`` still this worker's (refreshed rows are no longer
    due anyway; skipped ones are due again at once rather than when the claim runs out)."""
    if claim.ids:
        Credential.objects.filter(pk__in=claim.ids, refresh_claimed_until=claim.until).update(
            refresh_claimed_until=None
        )


def _links(ids: list[Any]) -> dict[Any, ConnectionCredential]:
    """Each claimed credential's first link to an active connection, with what refreshing
    it needs (one query for the batch)."""
    links: dict[Any, ConnectionCredential] = {}
    for link in (
        ConnectionCredential.objects.filter(
            credential_id__in=ids, connection__status=ConnectionStatus.ACTIVE
        )
        .select_related("connection", "auth_scheme_config", "client_credential", "credential")
        .order_by("position", "id")
    ):
        links.setdefault(link.credential_id, link)
    return links


@dataclass
class RefreshRun:
    refreshed: int = 0
    failed: int = 0
    needs_reauth: int = 0
    skipped: int = 0

    @property
    def processed(self) -> int:
        return self.refreshed + self.failed + self.needs_reauth

    def count(self, outcome: AccessToken | PatchbayError | None, renewed: bool) -> bool:
        """Count one item's outcome; False when it was skipped (not to be claimed again)."""
        if isinstance(outcome, ReauthorisationRequired) and renewed:
            self.needs_reauth += 1
        elif isinstance(outcome, PatchbayError) and renewed:
            self.failed += 1
        elif outcome is not None and renewed:
            self.refreshed += 1
        else:
            self.skipped += 1
            return False
        return True


def token_refresh_due(*, limit: int = 100, now: datetime | None = None) -> RefreshRun:
    """Refresh up to ``limit`` due tokens, claimed ``BATCH_SIZE`` at a time.

    Safe with any number of workers on PostgreSQL (see the module docstring). A token that
    is not due for its own config's margin, that someone else is refreshing right now, or
    that the job cannot handle is skipped for the rest of this run.
    """
    run = RefreshRun()
    horizon = timedelta(seconds=_max_margin())
    passed: list[Any] = []  # examined this run and skipped: not claimed again by it
    while run.processed + run.skipped < limit:
        moment = now or timezone.now()
        size = min(BATCH_SIZE, limit - run.processed - run.skipped)
        claim = refresh_claim(now=moment, horizon=horizon, size=size, passed=passed)
        if not claim.ids:
            break
        try:
            _refresh_batch(claim, run, passed, now)
        finally:
            refresh_release(claim)
    return run


def _refresh_batch(claim: Claim, run: RefreshRun, passed: list[Any], now: datetime | None) -> None:
    links = _links(claim.ids)
    for pk in claim.ids:
        if time.monotonic() > claim.deadline:
            return  # the claim is running out: leave the rest to whoever claims it next
        link = links.get(pk)
        if link is None:  # its connection left the active set since the claim
            passed.append(pk)
            run.skipped += 1
            continue
        try:
            outcome, renewed = token_refresh_if_free(link, now=now or timezone.now())
        except PatchbayError:  # it holds no token after all (no_oauth2_credential)
            outcome, renewed = None, False
        except Exception as exc:
            # One credential the job cannot handle (e.g. its ciphertext no longer decrypts)
            # must not stop every refresh due after it: skip it for this run, say which.
            # The exception's text is not logged: only its kind.
            logger.error("refresh of credential %s failed: %s", pk, type(exc).__name__)
            passed.append(pk)
            run.failed += 1
            continue
        if not run.count(outcome, renewed):
            passed.append(pk)
