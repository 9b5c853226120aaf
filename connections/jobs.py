"""The background jobs the worker runs (``python manage.py worker``, ``run_jobs``).

Each job takes a ``limit`` and returns how many items it processed. Every job is
safe to run from several workers at once against PostgreSQL: items are claimed
with ``SELECT ... FOR UPDATE SKIP LOCKED`` one transaction at a time
(credentials), claimed in batches with a lease (tokens, webhook deliveries), or
deleted idempotently (authorisation requests). An item that fails stays due or goes into a cooldown.

A credential past its ``expires_at`` is deleted, whatever uses it: that is what
setting ``expiresAt`` asks for. Its connection links go with it, and each
connection that used it is marked ``error`` (it is missing a credential it was
made with) rather than deleted, so the owner can see what happened and attach a
new credential. Every deletion emits ``credential.expired`` with the reason and
the affected connections, and is logged; nothing secret is in either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connections.models import (
    AuthorisationRequest,
    Connection,
    ConnectionCredential,
    ConnectionStatus,
)
from connections.oauth.refresh_due import token_refresh_due
from core.db import lock_next
from core.time import iso
from credentials.models import Credential
from webhooks.jobs import deliver_due
from webhooks.services import event_emit

logger = logging.getLogger("patchbay.jobs")

USED_REQUEST_RETENTION = timedelta(days=1)
EXPIRED = "expires_at_passed"


def authorisation_requests_purge(*, limit: int = 1000, now: datetime | None = None) -> int:
    """Delete up to ``limit`` authorisation requests that are done with: unused ones past
    their expiry, and used ones after a day (a used request holds the outcome an embed
    widget polls for, so it outlives its expiry). Idempotent: two workers at once delete
    each row once between them."""
    moment = now or timezone.now()
    stale = Q(used_at__isnull=True, expires_at__lte=moment) | Q(
        used_at__lte=moment - USED_REQUEST_RETENTION
    )
    ids = list(
        AuthorisationRequest.objects.filter(stale)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    _deleted, by_model = AuthorisationRequest.objects.filter(pk__in=ids).delete()
    return int(by_model.get(AuthorisationRequest._meta.label, 0))


def credential_expire(*, credential: Credential, reason: str = EXPIRED) -> list[str]:
    """Delete ``credential`` and record why; returns the ids of the connections it broke.

    Call inside the transaction that locked it. Connections that used it become ``error``.
    """
    affected = list(
        Connection.objects.filter(connection_credentials__credential=credential)
        .distinct()
        .values_list("pk", flat=True)
    )
    Connection.objects.filter(pk__in=affected).exclude(status=ConnectionStatus.ERROR).update(
        status=ConnectionStatus.ERROR, updated_at=timezone.now()
    )
    connection_ids = [str(pk) for pk in affected]
    event_emit(
        organisation=credential.organisation,
        type="credential.expired",
        data={
            "credentialId": str(credential.pk),
            "type": credential.type,
            "reason": reason,
            "expiresAt": iso(credential.expires_at),
            "connectionIds": connection_ids,
        },
    )
    logger.info(
        "credential deleted id=%s type=%s organisation=%s reason=%s connections=%d",
        credential.pk,
        credential.type,
        credential.organisation_id,
        reason,
        len(connection_ids),
    )
    # The links are PROTECT (a credential in use is otherwise never deleted): they go first.
    ConnectionCredential.objects.filter(credential=credential).delete()
    credential.delete()
    return connection_ids


def credentials_expire(*, limit: int = 100, now: datetime | None = None) -> int:
    """Delete up to ``limit`` credentials past ``expires_at``, one locked row per transaction.

    Returns how many were deleted. Concurrent workers skip each other's rows; a row
    another worker already deleted is simply no longer there.
    """
    done = 0
    while done < limit:
        moment = now or timezone.now()
        with transaction.atomic():
            credential = lock_next(
                Credential.objects.filter(expires_at__lte=moment)
                .select_related("organisation")
                .order_by("expires_at", "pk")
            )
            if credential is None:
                break
            credential_expire(credential=credential)
        done += 1
    return done


def tokens_refresh(*, limit: int = 100) -> int:
    run = token_refresh_due(limit=limit)
    if run.failed or run.needs_reauth:
        logger.warning(
            "token refresh job: refreshed=%d failed=%d needs_reauth=%d",
            run.refreshed,
            run.failed,
            run.needs_reauth,
        )
    return run.processed


def webhooks_deliver(*, limit: int = 100) -> int:
    return deliver_due(limit=limit)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[..., int]
    description: str


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("refresh_tokens", tokens_refresh, "refresh OAuth 2.0 tokens about to expire"),
        Job("expire_credentials", credentials_expire, "delete credentials past expiresAt"),
        Job(
            "purge_authorisation_requests",
            authorisation_requests_purge,
            "delete expired and old used authorisation requests",
        ),
        Job("deliver_webhooks", webhooks_deliver, "send due webhook deliveries"),
    )
}


def jobs_run(
    names: Iterable[str] | None = None,
    *,
    limit: int = 100,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Run each named job once (all by default); returns processed counts by job.

    A job that raises is logged and counted as -1; the others still run.
    """
    counts: dict[str, int] = {}
    for name in names or JOBS:
        if should_stop():
            break
        try:
            counts[name] = JOBS[name].run(limit=limit)
        except Exception:
            logger.exception("job %s failed", name)
            counts[name] = -1
    return counts
