"""The webhook outbox worker: send due deliveries, retry with backoff, never twice.

Called by ``manage.py worker`` (and its one-shot variants). Safe to run in any
number of processes on any number of machines against one database.

How a delivery is claimed, and why not under a held lock
--------------------------------------------------------
A batch of due rows is selected ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; other
workers skip the rows instead of waiting for them) and, in the same short
transaction, each row is **leased**: ``locked_until`` and ``next_attempt_at``
are moved to the end of the lease and ``attempts`` is counted. The transaction
commits before any HTTP request, so no row lock or connection is held while a
slow receiver answers. Another worker does not see a leased row as due until its
lease has passed, and a worker that crashes mid-batch loses nothing: its rows
simply become due again when the lease runs out.

Each claim is also a conditional ``UPDATE`` (still pending, still due), so two
workers cannot both claim one row even on databases without ``SKIP LOCKED``
(SQLite), where the select lock is a no-op.

The lease covers the worst case of the whole batch (every request using its full
time budget from the outbound seam) and the worker stops and hands rows back
before sending one whose lease is about to end, so a row is never sent by two
workers at once. The one remaining duplicate is inherent to any outbox: a worker
that dies after the receiver answered 2xx but before recording it sends again
after the lease. Receivers de-duplicate with ``webhook-id``.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core import outbound
from core.crypto import DecryptionError
from webhooks.models import Event, WebhookDelivery
from webhooks.signing import headers as signature_headers

logger = logging.getLogger(__name__)

# Wait after the n-th failed attempt (n = 1, 2, ...); the attempt after the last is the final one.
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
BATCH_SIZE = 10
USER_AGENT = "Patchbay-Webhooks/1"
MAX_ERROR_LENGTH = 500


def request_budget() -> timedelta:
    """The longest one POST can take through the outbound seam (connect + capped read)."""
    connect, read = settings.PATCHBAY_HTTP_TIMEOUT
    return timedelta(seconds=connect + (connect + read) * 2 + 5)


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after ``attempts`` failures, with ±20 % jitter."""
    base = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return base * random.uniform(0.8, 1.2)


def payload(event: Event) -> bytes:
    """The body every delivery of ``event`` sends: compact JSON, identical on every retry."""
    body = {
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
        "organisationId": str(event.organisation_id),
    }
    return json.dumps(body, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None
    error: str


def _due(now: datetime) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(
        next_attempt_at__lte=now, delivered_at__isnull=True, dead_at__isnull=True
    ).order_by("next_attempt_at")


def _claim(*, now: datetime, size: int) -> tuple[list[WebhookDelivery], datetime]:
    """Lease up to ``size`` due deliveries to this worker; see the module docstring."""
    lease_end = now + request_budget() * size + timedelta(seconds=30)
    claimed: list[uuid.UUID] = []
    with transaction.atomic():
        rows = _due(now)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        candidates = list(rows.values_list("pk", "attempts")[:size])
        for pk, attempts in candidates:
            won = WebhookDelivery.objects.filter(
                pk=pk,
                attempts=attempts,
                next_attempt_at__lte=now,
                delivered_at__isnull=True,
                dead_at__isnull=True,
            ).update(
                attempts=attempts + 1,
                locked_until=lease_end,
                next_attempt_at=lease_end,
                last_attempt_at=now,
            )
            if won:
                claimed.append(pk)
        deliveries = list(
            WebhookDelivery.objects.filter(pk__in=claimed)
            .select_related("endpoint", "event")
            .order_by("created_at")
        )
    return deliveries, lease_end


def _send(delivery: WebhookDelivery, attempt_at: datetime) -> Outcome:
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.active:
        return Outcome(False, None, "The endpoint is disabled.")
    body = payload(event)
    try:
        signature = signature_headers(
            secret=endpoint.secret,
            message_id=str(event.pk),
            timestamp=int(attempt_at.timestamp()),
            body=body,
        )
    except (DecryptionError, ValueError) as exc:
        # A secret that cannot be read (its key left the ring) fails this delivery like
        # any other failure, so it backs off and dies, instead of aborting the job for
        # every delivery behind it. The exception names no secret; we log only its kind.
        logger.error("webhook delivery %s: cannot sign (%s)", delivery.pk, type(exc).__name__)
        return Outcome(False, None, "The endpoint's signing secret cannot be read.")
    request_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **signature}
    try:
        response = outbound.session(deadline=settings.PATCHBAY_HTTP_WEBHOOK_DEADLINE).post(
            endpoint.url, data=body, headers=request_headers, allow_redirects=False
        )
    except outbound.OutboundError as exc:
        # The seam's messages never carry request bodies, headers or URLs' secrets.
        return Outcome(False, None, f"{exc.kind}: {exc.message}"[:MAX_ERROR_LENGTH])
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, code, "")
    # The response body is never stored: a receiver may echo what it was sent.
    if 300 <= code < 400:
        return Outcome(False, code, f"The endpoint answered {code}; redirects are not followed.")
    return Outcome(False, code, f"The endpoint answered {code}.")


def _record(
    delivery: WebhookDelivery, outcome: Outcome, *, now: datetime, lease_end: datetime
) -> None:
    fields: dict[str, object] = {
        "locked_until": None,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    if outcome.delivered:
        fields["delivered_at"] = now
    elif delivery.attempts >= MAX_ATTEMPTS or not delivery.endpoint.active:
        fields["dead_at"] = now
    else:
        fields["next_attempt_at"] = now + backoff(delivery.attempts)
    # Only while the lease is ours: a row handed over after a lease ran out is not overwritten.
    WebhookDelivery.objects.filter(pk=delivery.pk, locked_until=lease_end).update(**fields)


def _release(deliveries: list[WebhookDelivery], *, lease_end: datetime, now: datetime) -> None:
    """Hand unsent rows back, due at once, with the attempt uncounted."""
    for delivery in deliveries:
        WebhookDelivery.objects.filter(pk=delivery.pk, locked_until=lease_end).update(
            locked_until=None, next_attempt_at=now, attempts=delivery.attempts - 1
        )


def deliver_due(*, limit: int = 100, now: datetime | None = None) -> int:
    """Attempt every due delivery, at most ``limit``; returns how many were attempted.

    ``now`` is for tests and tools that move the clock; it defaults to the current time.
    """
    attempted = 0
    while attempted < limit:
        started = time.monotonic()
        batch_now = now or timezone.now()
        deliveries, lease_end = _claim(now=batch_now, size=min(BATCH_SIZE, limit - attempted))
        if not deliveries:
            break
        for index, delivery in enumerate(deliveries):
            elapsed = timedelta(seconds=time.monotonic() - started)
            if batch_now + elapsed + request_budget() >= lease_end:
                _release(deliveries[index:], lease_end=lease_end, now=batch_now + elapsed)
                break
            attempt_at = now or timezone.now()
            outcome = _send(delivery, attempt_at)
            _record(delivery, outcome, now=now or timezone.now(), lease_end=lease_end)
            attempted += 1
            logger.info(
                "webhook delivery %s attempt %s: %s",
                delivery.pk,
                delivery.attempts,
                "delivered" if outcome.delivered else (outcome.status_code or "failed"),
            )
        if len(deliveries) < BATCH_SIZE:
            break
    return attempted
