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
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, QuerySet
from django.db.models.functions import Now
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
    """The longest one POST can take through the outbound seam: the webhook deadline cuts
    the whole request, connect included (plus a margin for signing and recording)."""
    return timedelta(seconds=settings.PATCHBAY_HTTP_WEBHOOK_DEADLINE + 5)


def _at(now: datetime | None, later: timedelta = timedelta(0)) -> Any:
    """A time to compare with or store: the database's clock (``Now()``, one clock that every
    worker on every machine shares, so a skewed machine can neither steal a leased row nor
    keep one), or the fixed ``now`` that tests and tools pass."""
    if now is not None:
        return now + later
    return ExpressionWrapper(Now() + later, output_field=DateTimeField())


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


def _due(now: datetime | None) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(
        next_attempt_at__lte=_at(now), delivered_at__isnull=True, dead_at__isnull=True
    ).order_by("next_attempt_at")


def lease_for(size: int) -> timedelta:
    return request_budget() * size + timedelta(seconds=30)


def _claim(*, now: datetime | None, size: int) -> tuple[list[WebhookDelivery], datetime | None]:
    """Lease up to ``size`` due deliveries to this worker; see the module docstring. Returns
    them and the end of their lease, by the database's clock (or ``now``'s)."""
    lease = lease_for(size)
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
                next_attempt_at__lte=_at(now),
                delivered_at__isnull=True,
                dead_at__isnull=True,
            ).update(
                attempts=attempts + 1,
                locked_until=_at(now, lease),
                next_attempt_at=_at(now, lease),  # one statement: the same instant
                last_attempt_at=_at(now),
            )
            if won:
                claimed.append(pk)
        deliveries = list(
            WebhookDelivery.objects.filter(pk__in=claimed)
            .select_related("endpoint", "event")
            .order_by("created_at")
        )
    return deliveries, max((d.locked_until for d in deliveries if d.locked_until), default=None)


def _send(delivery: WebhookDelivery, attempt_at: datetime) -> Outcome:
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.active:
        return Outcome(False, None, "The endpoint is disabled.")
    body = payload(event)
    try:
        signature = signature_headers(
            secrets=endpoint.signing_secrets(attempt_at),
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
        # The seam's messages never carry request bodies, headers or URLs' secrets. This
        # is the operator's detail (the admin shows it); the API answers the public form
        # (outputs.WebhookDelivery.last_error).
        return Outcome(False, None, f"{exc.kind}: {exc.message}"[:MAX_ERROR_LENGTH])
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, code, "")
    # The response body is never stored: a receiver may echo what it was sent.
    if 300 <= code < 400:
        return Outcome(False, code, f"The endpoint answered {code}; redirects are not followed.")
    return Outcome(False, code, f"The endpoint answered {code}.")


def _record(delivery: WebhookDelivery, outcome: Outcome, *, now: datetime | None) -> None:
    fields: dict[str, object] = {
        "locked_until": None,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    if outcome.delivered:
        fields["delivered_at"] = _at(now)
    elif delivery.attempts >= MAX_ATTEMPTS or not delivery.endpoint.active:
        fields["dead_at"] = _at(now)
    else:
        fields["next_attempt_at"] = _at(now, backoff(delivery.attempts))
    # Only while the lease is ours: a row handed over after a lease ran out is not overwritten.
    WebhookDelivery.objects.filter(pk=delivery.pk, locked_until=delivery.locked_until).update(
        **fields
    )


def _release(deliveries: list[WebhookDelivery], *, now: datetime | None) -> None:
    """Hand unsent rows back, due at once, with the attempt uncounted."""
    for delivery in deliveries:
        WebhookDelivery.objects.filter(pk=delivery.pk, locked_until=delivery.locked_until).update(
            locked_until=None, next_attempt_at=_at(now), attempts=delivery.attempts - 1
        )


def deliver_due(*, limit: int = 100, now: datetime | None = None) -> int:
    """Attempt every due delivery, at most ``limit``; returns how many were attempted.

    ``now`` is for tests and tools that move the clock; without it every due time, lease
    and record is by the database's clock (``Now()``), never this machine's.
    """
    attempted = 0
    while attempted < limit:
        started = time.monotonic()
        size = min(BATCH_SIZE, limit - attempted)
        deliveries, _lease_end = _claim(now=now, size=size)
        if not deliveries:
            break
        for index, delivery in enumerate(deliveries):
            # The lease is measured on this machine's monotonic clock from the claim: no
            # wall clock to disagree with the database's.
            elapsed = timedelta(seconds=time.monotonic() - started)
            if elapsed + request_budget() >= lease_for(size):
                _release(deliveries[index:], now=now)
                break
            # The signature's timestamp is for the receiver, who compares it with its own
            # clock: this machine's, as synchronised as the receiver's.
            outcome = _send(delivery, now or timezone.now())
            _record(delivery, outcome, now=now)
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
