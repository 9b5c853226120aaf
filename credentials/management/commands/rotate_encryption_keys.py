"""Re-encrypt every secret under the first key of the ring (SPEC §6).

Batched and resumable: each batch is one transaction that locks its rows, and
rows already under the first key are skipped, so an interrupted run simply
continues where it stopped when started again. Afterwards the old keys can be
removed from ``PATCHBAY_ENCRYPTION_KEYS``.
"""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction

from core.crypto import PREFIX, DecryptionError, key_ring
from core.fields import EncryptedJSONField


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedJSONField]]:
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, EncryptedJSONField)
    ]


class Command(BaseCommand):
    help = "Re-encrypt every secret under the first key of PATCHBAY_ENCRYPTION_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--dry-run", action="store_true", help="Only count what would change.")

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        primary = key_ring().primary_kid
        current = f"{PREFIX}:{primary}:"
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
            # Passes go by primary key; a row written meanwhile under an old key (a process
            # still on the old ring) behind the cursor is caught by the next pass.
            unreadable: set[Any] = set()
            while self._rotate(
                label, stale.exclude(pk__in=list(unreadable)), field, batch_size, total, unreadable
            ):
                pass  # until a pass finds nothing left to re-encrypt
            failures += len(unreadable)
        if failures:
            raise CommandError(f"{failures} value(s) could not be decrypted; see above.")
        self.stdout.write(self.style.SUCCESS(f"Everything is encrypted under key {primary!r}."))

    def _rotate(
        self,
        label: str,
        stale: models.QuerySet[Any],
        field: EncryptedJSONField,
        batch_size: int,
        total: int,
        unreadable: set[Any],
    ) -> int:
        """One pass over ``stale`` in batches; returns how many values it re-encrypted."""
        done, last_pk = 0, None
        while True:
            with transaction.atomic():
                batch = stale.order_by("pk")
                if last_pk is not None:
                    batch = batch.filter(pk__gt=last_pk)
                rows = list(batch.select_for_update()[:batch_size])
                if not rows:
                    break
                for row in rows:
                    last_pk = row.pk
                    try:
                        getattr(row, field.attname)  # decrypts with whichever key wrote it
                    except DecryptionError as exc:
                        unreadable.add(row.pk)
                        self.stderr.write(f"{label} {row.pk}: {exc}")
                        continue
                    row.save(update_fields=[field.attname])
                    done += 1
            self.stdout.write(f"{label}: {done}/{total} re-encrypted")
        return done
