"""Background work on credentials: deleting those past ``expiresAt`` (SPEC §4).

A credential past its ``expires_at`` is deleted, whatever uses it: that is what
setting ``expiresAt`` asks for. Its connection links go with it (cascade), and
each connection that used it is marked ``error`` (it is missing a credential it
was made with) rather than deleted, so the owner can see what happened and
attach a new credential. Every deletion emits ``credential.expired`` with the
reason and the affected connections, and is logged; nothing secret is in either.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TypeVar

from django.db import connection as db_connection
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.time import iso
from credentials.models import Credential

logger = logging.getLogger("patchbay.jobs")

M = TypeVar("M", bound=models.Model)

EXPIRED = "expires_at_passed"


def lock_next(queryset: QuerySet[M]) -> M | None:
    """The first row of ``queryset`` no other transaction holds, locked; call inside one.

    ``SELECT ... FOR UPDATE SKIP LOCKED`` where the database has it (PostgreSQL), so
    concurrent workers on any number of machines take different rows. SQLite has no row
    locks (Django ignores ``select_for_update`` there) and serialises writers: fine for
    the single worker it is meant for.
    """
    features = db_connection.features
    if features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    elif features.has_select_for_update:
        queryset = queryset.select_for_update()
    return queryset.first()


def credential_expire(*, credential: Credential, reason: str = EXPIRED) -> list[str]:
    """Delete ``credential`` and record why; returns the ids of the connections it broke.

    Call inside the transaction that locked it. Connections that used it become ``error``.
    """
    from connections.models import Connection, ConnectionStatus
    from webhooks.services import event_emit

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
