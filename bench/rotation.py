#!/usr/bin/env python
"""Key rotation: ``rotate_encryption_keys`` against the per-row ``save()`` it replaced.

    .venv/bin/python bench/rotation.py                  # 100,000 credentials
    .venv/bin/python bench/rotation.py --rows 20000 --baseline-rows 5000

Seeds a fresh PostgreSQL database (``BENCH_DB_NAME``, default ``patchbay_rotation_<pid>``,
dropped at the end) with ``--rows`` credentials sealed under an old key (written in
bulk, already sealed),
then, with the ring ``new,old``:

1. the previous algorithm (one ORM ``save()`` per row, kept here as the baseline) over
   ``--baseline-rows`` of them;
2. the command itself over all that is left, timed as a whole (``--batch-size``).

Prints rows/second of each and their ratio, and checks that every row ends on the new key.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
import uuid
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.run as run  # noqa: E402

run.DB_NAME = run.database_name("rotation")
OLD = "old:" + base64.b64encode(b"o" * 32).decode()
NEW = "new:" + base64.b64encode(b"n" * 32).decode()


def seed(rows: int) -> None:
    from core.crypto import key_ring
    from credentials.models import Credential
    from organisations.models import Organisation

    organisation = Organisation.objects.create(name="Rotation")
    field = Credential._meta.get_field("data")
    ring = key_ring()
    batch: list[Credential] = []
    for i in range(rows):
        pk = uuid.uuid4()
        plaintext = f'{{"value":"secret-{i}"}}'.encode()
        sealed = ring.encrypt(plaintext, field.associated_data_for(organisation.pk, pk))  # type: ignore[attr-defined]
        batch.append(Credential(pk=pk, organisation=organisation, name=f"c{i}", type="string"))
        batch[-1].__dict__["data"] = sealed
        if len(batch) == 5000:
            _insert(batch)
            batch = []
    if batch:
        _insert(batch)


def _insert(batch: list) -> None:
    from django.db import connection

    from credentials.models import Credential

    table = Credential._meta.db_table
    fields = list(Credential._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    values = []
    for obj in batch:
        row = []
        for f in fields:
            value = obj.__dict__.get(f.attname) if f.attname == "data" else f.pre_save(obj, True)
            row.append(value if f.attname == "data" else f.get_db_prep_save(value, connection))
        values.append(row)
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)


def per_row_save(limit: int) -> int:
    """The algorithm before: one ORM ``save()`` per row (decrypt, JSON, encrypt, UPDATE)."""
    from django.db import transaction

    from credentials.models import Credential

    done = 0
    stale = Credential.objects.filter(data__startswith="pb1:old:").order_by("pk")
    while done < limit:
        with transaction.atomic():
            rows = list(stale.select_for_update()[: min(500, limit - done)])
            if not rows:
                break
            for row in rows:
                row.data  # noqa: B018 - decrypts
                row.save(update_fields=["data"])
                done += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    env = run.bench_env(run._free_port())
    env["PATCHBAY_ENCRYPTION_KEYS"] = OLD
    os.environ.update(env)
    run.fresh_database(env)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from core.crypto import envelope_kid
    from credentials.models import Credential

    started = time.perf_counter()
    seed(args.rows)
    print(f"seeded {args.rows:,} credentials under 'old' in {time.perf_counter() - started:.1f} s")

    settings.PATCHBAY_ENCRYPTION_KEYS = f"{NEW},{OLD}"
    started = time.perf_counter()
    baseline = per_row_save(args.baseline_rows)
    baseline_s = time.perf_counter() - started
    left = args.rows - baseline
    started = time.perf_counter()
    call_command("rotate_encryption_keys", "--batch-size", str(args.batch_size), stdout=StringIO())
    batched_s = time.perf_counter() - started

    kids = {envelope_kid(v) for v in Credential.objects.values_list("data", flat=True)}
    assert kids == {"new"}, kids
    print(f"{'':34}{'rows':>9}{'seconds':>9}{'rows/s':>9}")
    for name, rows, seconds in (
        ("per-row save() (before)", baseline, baseline_s),
        ("rotate_encryption_keys (batched)", left, batched_s),
    ):
        print(f"{name:34}{rows:>9,}{seconds:>9.1f}{rows / seconds:>9,.0f}")
    print(
        f"batched / per-row: {(left / batched_s) / (baseline / baseline_s):.1f}x; "
        f"{args.rows:,} rows at the batched rate: {args.rows / (left / batched_s):.1f} s "
        f"(target < 20 s); every row on 'new': yes"
    )


if __name__ == "__main__":
    main()
