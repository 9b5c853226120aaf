"""The background jobs the worker runs (``python manage.py worker``, ``run_jobs``).

Each job takes a ``limit`` and returns how many items it processed. Every job is
safe to run from several workers at once against PostgreSQL: items are claimed
with ``SELECT ... FOR UPDATE SKIP LOCKED`` one transaction at a time (tokens,
credentials), leased (webhook deliveries), or deleted idempotently
(authorisation requests). An item that fails stays due or goes into a cooldown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from connections.models import AuthorisationRequest
from connections.oauth.refresh import token_refresh_due
from credentials.jobs import credentials_expire

logger = logging.getLogger("patchbay.jobs")

USED_REQUEST_RETENTION = timedelta(days=1)


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
    from webhooks.jobs import deliver_due

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
