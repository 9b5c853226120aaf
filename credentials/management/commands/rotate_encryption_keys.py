"""Re-encrypt every secret under the first key of the ring (SPEC §6).

Batched, online and resumable. Each batch is one short transaction: it locks up to
``--batch-size`` rows not yet under the first key (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so a row a request is writing is left for a later pass rather than waited
for), re-seals each value at the envelope level (decrypt with whichever key wrote it,
encrypt with the first, same associated data: no JSON is parsed) and writes the whole
batch back in ONE ``UPDATE`` (a join on ``VALUES`` on PostgreSQL). Rows already under the
first key are never read again, so a run that is killed simply continues where it stopped
when started again. Progress is printed per batch with the rate and the time left.
Afterwards the old keys can be removed from ``PATCHBAY_ENCRYPTION_KEYS``.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction

from core.crypto import PREFIX, DecryptionError, KeyRing, key_ring
from core.fields import EncryptedJSONField


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedJSONField]]:
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, EncryptedJSONField)
    ]


def progress(label: str, done: int, total: int, started: float) -> str:
    """``label: done/total re-encrypted (p%, rate/s, ETA h:mm:ss)``."""
    elapsed = max(time.monotonic() - started, 1e-9)
    rate = done / elapsed
    left = max(total - done, 0)
    eta = timedelta(seconds=round(left / rate)) if rate > 0 else None
    percent = 100 * done / total if total else 100.0
    return (
        f"{label}: {done}/{total} re-encrypted ({percent:.0f}%, {rate:,.0f}/s, "
        f"ETA {eta if eta is not None else '?'})"
    )


def write_batch(
    model: type[models.Model], field: EncryptedJSONField, rows: list[tuple[Any, str]]
) -> None:
    """Write re-sealed values back in ONE statement: on PostgreSQL an ``UPDATE ... FROM
    (VALUES ...)`` joined on the primary key (linear, where a ``CASE`` with a branch per row
    is quadratic), elsewhere Django's ``bulk_update``."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        objects = []
        for pk, sealed in rows:
            instance = model(pk=pk)
            setattr(instance, field.attname, sealed)  # already sealed: written as it is
            objects.append(instance)
        model._default_manager.bulk_update(objects, [field.name])
        return
    quote = connection.ops.quote_name
    assert model._meta.pk is not None
    table, pk_column = quote(model._meta.db_table), quote(model._meta.pk.column)
    values = ", ".join(["(%s::uuid, %s)"] * len(rows))
    sql = (
        f"UPDATE {table} SET {quote(field.column)} = v.sealed"  # noqa: S608 - names quoted
        f" FROM (VALUES {values}) AS v(pk, sealed) WHERE {table}.{pk_column} = v.pk"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [item for row in rows for item in (str(row[0]), row[1])])


class Command(BaseCommand):
    help = "Re-encrypt every secret under the first key of PATCHBAY_ENCRYPTION_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="Only count what would change.")
        parser.add_argument(
            "--pause",
            type=float,
            default=0.0,
            help="Seconds to wait between batches, to spare a busy database (default 0).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        ring = key_ring()
        current = f"{PREFIX}:{ring.primary_kid}:"
        failures = 0
        for model, field in encrypted_fields():
            label = f"{model._meta.label}.{field.name}"
            # An exact, case-sensitive prefix match: SQLite's LIKE (behind __startswith)
            # ignores case, and would take a value under key "K1" for one under "k1".
            stale = model._default_manager.exclude(**{f"{field.attname}__isnull": True}).exclude(
                **{f"{field.attname}__regex": f"^{re.escape(current)}"}
            )
            total = stale.count()
            if options["dry_run"] or total == 0:
                self.stdout.write(f"{label}: {total} to re-encrypt")
                continue
            unreadable: set[Any] = set()
            started, done = time.monotonic(), 0
            # Passes go by primary key; a row written meanwhile under an old key (a process
            # still on the old ring) or skipped while locked is caught by the next pass.
            while True:
                rotated = self._pass(
                    label, stale, field, ring, (batch_size, options["pause"]), total,
                    unreadable, started, done,
                )  # fmt: skip
                if rotated == 0:
                    break
                done += rotated
            failures += len(unreadable)
        if failures:
            raise CommandError(f"{failures} value(s) could not be decrypted; see above.")
        self.stdout.write(
            self.style.SUCCESS(f"Everything is encrypted under key {ring.primary_kid!r}.")
        )

    def _pass(
        self,
        label: str,
        stale: models.QuerySet[Any],
        field: EncryptedJSONField,
        ring: KeyRing,
        batching: tuple[int, float],
        total: int,
        unreadable: set[Any],
        started: float,
        done: int,
    ) -> int:
        """One pass over ``stale`` in batches; returns how many values it re-encrypted."""
        batch_size, pause = batching
        model = stale.model
        skip_locked = connection.features.has_select_for_update_skip_locked
        rotated, last_pk = 0, None
        while True:
            with transaction.atomic():
                batch = stale.exclude(pk__in=list(unreadable)).order_by("pk")
                if last_pk is not None:
                    batch = batch.filter(pk__gt=last_pk)
                rows = list(
                    batch.select_for_update(skip_locked=skip_locked).values_list(
                        "pk", field.organisation_attr, field.attname
                    )[:batch_size]
                )
                if not rows:
                    return rotated
                last_pk = rows[-1][0]
                updates: list[tuple[Any, str]] = []
                for pk, organisation, envelope in rows:
                    bound = field.associated_data_for(organisation, pk)
                    try:
                        updates.append((pk, ring.encrypt(ring.decrypt(envelope, bound), bound)))
                    except DecryptionError as exc:
                        unreadable.add(pk)
                        self.stderr.write(f"{label} {pk}: {exc}")
                write_batch(model, field, updates)
                rotated += len(updates)
            self.stdout.write(progress(label, done + rotated, total, started))
            self.stdout.flush()
            if pause:
                time.sleep(pause)
