"""Secrets at rest (SPEC §6): AES-256-GCM bound to organisation/table/column/row."""

from __future__ import annotations

import base64
import os
import uuid
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from core.crypto import DecryptionError, KeyRing, envelope_kid, key_ring
from credentials.models import Credential
from organisations.models import Organisation

SECRET = "s3cr3t-client-secret-value-7d1c"


def _key(kid: str) -> str:
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


def _credential(organisation: Organisation, secret: str = SECRET) -> Credential:
    return Credential.objects.create(
        organisation=organisation,
        name="client",
        type="oauth2-client",
        data={"clientId": "client-1", "clientSecret": secret},
    )


def _raw_column(table: str, column: str, pk: uuid.UUID) -> str:
    value = pk.hex if connection.vendor == "sqlite" else pk
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [value])
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def test_it_stores_no_plaintext_secret_in_any_table(alice):
    _credential(alice.organisation)
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                assert SECRET not in repr(row), f"plaintext secret found in {table}"


def test_it_reads_back_what_it_wrote(alice):
    credential = _credential(alice.organisation)
    fresh = Credential.objects.get(pk=credential.pk)
    assert fresh.data == {"clientId": "client-1", "clientSecret": SECRET}


def test_it_uses_a_fresh_nonce_for_every_write(alice):
    credential = _credential(alice.organisation)
    first = _raw_column("credentials_credential", "data", credential.pk)
    credential.save()
    second = _raw_column("credentials_credential", "data", credential.pk)
    assert first != second
    assert envelope_kid(first) == envelope_kid(second) == "test1"


@pytest.mark.parametrize(
    "other_org", [False, True], ids=["same-organisation", "other-organisation"]
)
def test_it_refuses_a_ciphertext_copied_into_another_row(alice, charlie, other_org):
    source = _credential(alice.organisation)
    target = _credential(charlie.organisation if other_org else alice.organisation, secret="other")
    ciphertext = _raw_column("credentials_credential", "data", source.pk)
    Credential.objects.filter(pk=target.pk).update(data=ciphertext)

    copied = Credential.objects.get(pk=target.pk)
    with pytest.raises(DecryptionError) as excinfo:
        _ = copied.data
    assert SECRET not in str(excinfo.value)
    # The source row still decrypts: the refusal is about the row, not the key.
    assert Credential.objects.get(pk=source.pk).data["clientSecret"] == SECRET


def test_it_refuses_a_ciphertext_reparented_to_another_organisation_with_the_same_pk(
    alice, charlie
):
    """The row id alone does not bind a value: moved to another organisation (same pk,
    same table, same bytes), it no longer decrypts."""
    credential = _credential(alice.organisation)
    Credential.objects.filter(pk=credential.pk).update(organisation=charlie.organisation)

    moved = Credential.objects.get(pk=credential.pk)
    assert moved.organisation_id == charlie.organisation.pk
    with pytest.raises(DecryptionError) as excinfo:
        _ = moved.data
    assert SECRET not in str(excinfo.value)
    # Moved back, it decrypts again: the organisation is what refused it.
    Credential.objects.filter(pk=credential.pk).update(organisation=alice.organisation)
    assert Credential.objects.get(pk=credential.pk).data["clientSecret"] == SECRET


@pytest.mark.parametrize("prefix", ["pb0", "pb2", "PB1", "x"])
def test_it_refuses_a_stored_value_without_the_pb1_prefix(alice, prefix):
    """The same key id and sealed bytes under another scheme marker are not read."""
    credential = _credential(alice.organisation)
    envelope = _raw_column("credentials_credential", "data", credential.pk)
    _, kid, blob = envelope.split(":", 2)
    Credential.objects.filter(pk=credential.pk).update(data=f"{prefix}:{kid}:{blob}")
    with pytest.raises(DecryptionError, match="Not a Patchbay ciphertext"):
        _ = Credential.objects.get(pk=credential.pk).data
    assert envelope_kid(f"{prefix}:{kid}:{blob}") is None


@pytest.mark.parametrize("blob", ["", "AAAA", base64.urlsafe_b64encode(b"n" * 27).decode()])
def test_it_refuses_a_truncated_ciphertext_as_undecryptable(alice, blob):
    credential = _credential(alice.organisation)
    envelope = _raw_column("credentials_credential", "data", credential.pk)
    prefix, kid, _ = envelope.split(":", 2)
    Credential.objects.filter(pk=credential.pk).update(data=f"{prefix}:{kid}:{blob}")
    with pytest.raises(DecryptionError):  # not AESGCM's ValueError about the nonce
        _ = Credential.objects.get(pk=credential.pk).data


def test_it_refuses_a_tampered_ciphertext(alice):
    credential = _credential(alice.organisation)
    envelope = _raw_column("credentials_credential", "data", credential.pk)
    prefix, kid, blob = envelope.split(":", 2)
    raw = bytearray(base64.urlsafe_b64decode(blob))
    raw[-1] ^= 1
    tampered = f"{prefix}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    Credential.objects.filter(pk=credential.pk).update(data=tampered)
    with pytest.raises(DecryptionError):
        _ = Credential.objects.get(pk=credential.pk).data


def test_it_refuses_plaintext_lookups_on_encrypted_fields(alice):
    _credential(alice.organisation)
    with pytest.raises(TypeError):
        list(Credential.objects.filter(data={"clientSecret": SECRET}))


def test_rotation_moves_everything_to_the_first_key_and_the_old_key_can_go(
    alice, charlie, settings
):
    old, new = _key("old"), _key("new")
    settings.PATCHBAY_ENCRYPTION_KEYS = old
    credentials = [
        _credential(org, secret=f"{SECRET}-{i}")
        for i, org in enumerate([alice.organisation, charlie.organisation] * 3)
    ]

    settings.PATCHBAY_ENCRYPTION_KEYS = f"{new},{old}"
    out = StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "2", stdout=out)
    assert "credentials.Credential.data: 6/6 re-encrypted" in out.getvalue()
    for credential in credentials:
        assert envelope_kid(_raw_column("credentials_credential", "data", credential.pk)) == "new"

    settings.PATCHBAY_ENCRYPTION_KEYS = new  # the old key is gone
    for i, credential in enumerate(credentials):
        assert Credential.objects.get(pk=credential.pk).data["clientSecret"] == f"{SECRET}-{i}"


def test_rotation_tells_key_ids_apart_by_case(alice, settings):
    """SQLite's LIKE ignores case: "pb1:K1:" must not pass for a value under "k1"."""
    upper, lower = _key("K1"), _key("k1")
    settings.PATCHBAY_ENCRYPTION_KEYS = upper
    credential = _credential(alice.organisation)
    settings.PATCHBAY_ENCRYPTION_KEYS = f"{lower},{upper}"
    call_command("rotate_encryption_keys", stdout=StringIO())
    assert envelope_kid(_raw_column("credentials_credential", "data", credential.pk)) == "k1"
    settings.PATCHBAY_ENCRYPTION_KEYS = lower  # the old key can go
    assert Credential.objects.get(pk=credential.pk).data["clientSecret"] == SECRET


def test_rotation_is_resumable_and_skips_rows_already_rotated(alice, settings):
    old, new = _key("old"), _key("new")
    settings.PATCHBAY_ENCRYPTION_KEYS = old
    first, second = _credential(alice.organisation), _credential(alice.organisation)
    settings.PATCHBAY_ENCRYPTION_KEYS = f"{new},{old}"
    first.save()  # as if an earlier, interrupted run had reached this row

    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "credentials.Credential.data: 1/1 re-encrypted" in out.getvalue()
    assert envelope_kid(_raw_column("credentials_credential", "data", second.pk)) == "new"

    again = StringIO()
    call_command("rotate_encryption_keys", stdout=again)
    assert "credentials.Credential.data: 0 to re-encrypt" in again.getvalue()


def test_rotation_reports_values_it_cannot_decrypt_and_still_rotates_the_rest(alice, settings):
    lost, old, new = _key("lost"), _key("old"), _key("new")
    settings.PATCHBAY_ENCRYPTION_KEYS = lost
    orphan = _credential(alice.organisation)
    settings.PATCHBAY_ENCRYPTION_KEYS = old
    kept = _credential(alice.organisation)
    settings.PATCHBAY_ENCRYPTION_KEYS = f"{new},{old}"
    err = StringIO()
    with pytest.raises(CommandError, match="1 value"):
        call_command("rotate_encryption_keys", stdout=StringIO(), stderr=err)
    assert str(orphan.pk) in err.getvalue()
    assert SECRET not in err.getvalue()
    assert envelope_kid(_raw_column("credentials_credential", "data", kept.pk)) == "new"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "holds no key"),
        ("nokid", "kid:base64"),
        ("k1:not-base64!", "not base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes"),
        (f"{_key('k1')},{_key('k1')}", "appears twice"),
        (f"bad kid:{base64.b64encode(os.urandom(32)).decode()}", "kid:base64"),
    ],
)
def test_it_refuses_a_malformed_key_ring(spec, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        KeyRing.parse(spec)


@pytest.mark.parametrize("size", [16, 24, 31, 33, 64])
def test_it_loads_only_a_32_byte_key(size, settings):
    """AES-GCM would accept 16- and 24-byte keys (AES-128/192); Patchbay loads only AES-256."""
    spec = f"k1:{base64.b64encode(os.urandom(size)).decode()}"
    with pytest.raises(ImproperlyConfigured, match=r"'k1' must be 32 bytes \(AES-256\)"):
        KeyRing.parse(spec)
    settings.PATCHBAY_ENCRYPTION_KEYS = f"{_key('k0')},{spec}"  # not even as an old key
    with pytest.raises(ImproperlyConfigured, match="must be 32 bytes"):
        key_ring()


def test_rotation_writes_each_batch_in_one_update(alice, settings, django_assert_max_num_queries):
    old, new = _key("old"), _key("new")
    settings.PATCHBAY_ENCRYPTION_KEYS = old
    for i in range(12):
        _credential(alice.organisation, secret=f"{SECRET}-{i}")
    settings.PATCHBAY_ENCRYPTION_KEYS = f"{new},{old}"
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as seen:
        call_command("rotate_encryption_keys", "--batch-size", "5", stdout=StringIO())
    updates = [q["sql"] for q in seen.captured_queries if q["sql"].startswith("UPDATE")]
    # 12 rows in batches of 5: three UPDATEs (5, 5, 2 rows), one per batch, never one per row.
    assert len(updates) == 3
    assert all('"credentials_credential"' in sql for sql in updates)
    settings.PATCHBAY_ENCRYPTION_KEYS = new
    secrets_ = sorted(c.data["clientSecret"] for c in Credential.objects.all())
    assert secrets_ == sorted(f"{SECRET}-{i}" for i in range(12))


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_rotation_killed_between_batches_resumes_and_loses_nothing(alice, settings, tmp_path):
    """Killed (SIGKILL) after its first batch, started again: every row ends on the new
    key with its value intact, none lost or sealed twice."""
    import subprocess
    import sys

    from tests.demo.server import ROOT
    from tests.servers import database_url

    old, new = _key("old"), _key("new")
    settings.PATCHBAY_ENCRYPTION_KEYS = old
    credentials = [_credential(alice.organisation, secret=f"{SECRET}-{i}") for i in range(40)]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PATCHBAY_ENV_FILE": str(tmp_path / "no.env"),
        "SECRET_KEY": settings.SECRET_KEY,
        "PATCHBAY_ENCRYPTION_KEYS": f"{new},{old}",
        "DATABASE_URL": database_url(),
    }
    command = [sys.executable, "manage.py", "rotate_encryption_keys", "--batch-size", "10"]
    run = subprocess.Popen(
        [*command, "--pause", "30"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert run.stdout is not None
        first = next(line for line in run.stdout if "re-encrypted" in line)
        assert "credentials.Credential.data: 10/40 re-encrypted (25%" in first
        assert "/s, ETA " in first
    finally:
        run.kill()  # between batches: the first one is committed, the second not begun
        run.wait(timeout=30)

    def kids() -> list[str | None]:
        return [
            envelope_kid(_raw_column("credentials_credential", "data", c.pk)) for c in credentials
        ]

    assert kids().count("new") == 10  # the committed batch, and nothing of the next
    resumed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "credentials.Credential.data: 30/30 re-encrypted (100%" in resumed.stdout
    assert kids() == ["new"] * 40
    settings.PATCHBAY_ENCRYPTION_KEYS = new  # the old key can go
    for i, credential in enumerate(credentials):
        assert Credential.objects.get(pk=credential.pk).data["clientSecret"] == f"{SECRET}-{i}"
