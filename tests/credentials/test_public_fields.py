"""A credential's non-secret fields in plaintext (``Credential.public``): what answers read
without the key, kept in step with the ciphertext, checked against it whenever the data is
decrypted, filled for rows that existed before (the migration), and kept by key rotation."""

from __future__ import annotations

import base64
import importlib
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command

from core.crypto import DecryptionError
from credentials.models import Credential

fill_public = importlib.import_module("credentials.migrations.0004_credential_public").fill_public

CLIENT = {
    "clientId": "client-7",
    "clientSecret": "very-secret-7",
    "tokenUrl": "https://auth.example.com/token",
}


def _client(alice: Any, **data: Any) -> Credential:
    return Credential.objects.create(
        organisation=alice.organisation, name="c", type="oauth2-client", data={**CLIENT, **data}
    )


def _raw_public(credential: Credential) -> Any:
    return Credential.objects.values_list("public", flat=True).get(pk=credential.pk)


def _set_raw_public(credential: Credential, value: Any) -> None:
    """Write the column as someone with database access would, past the model."""
    Credential.objects.filter(pk=credential.pk).update(public=value)


def test_it_keeps_the_non_secret_fields_in_plaintext_and_never_a_secret(alice):
    credential = _client(alice)
    assert _raw_public(credential) == {
        "clientId": "client-7",
        "tokenUrl": "https://auth.example.com/token",
    }
    body = alice.client.get(alice.url(f"credentials/{credential.pk}")).json()
    assert body["data"]["oauth2Client"] == _raw_public(credential)


def test_an_update_through_the_api_keeps_it_in_step(alice):
    credential = _client(alice)
    response = alice.client.patch(
        alice.url(f"credentials/{credential.pk}"),
        {"data": {"oauth2Client": {**CLIENT, "clientId": "client-8"}}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert _raw_public(credential)["clientId"] == "client-8"
    assert response.json()["data"]["oauth2Client"]["clientId"] == "client-8"


def test_a_default_credential_keeps_only_the_keys_not_redacted(alice):
    value = base64.b64encode(b"x").decode()
    credential = Credential.objects.create(
        organisation=alice.organisation,
        type="default",
        data={"region": value, "token": value},
        redact_fields=["token"],
    )
    assert _raw_public(credential) == {"region": value}
    credential.redact_fields = ["token", "region"]
    credential.save(update_fields=["redact_fields"])
    assert _raw_public(credential) == {}


def test_an_altered_plaintext_copy_is_refused_when_the_data_is_decrypted(alice):
    credential = _client(alice)
    _set_raw_public(credential, {"clientId": "someone-else", "tokenUrl": CLIENT["tokenUrl"]})
    row = Credential.objects.get(pk=credential.pk)
    with pytest.raises(DecryptionError, match="altered"):
        row.data  # noqa: B018 - decrypts


def test_a_plaintext_copy_taken_from_another_row_is_refused(alice):
    mine, other = _client(alice), _client(alice, clientId="client-9")
    _set_raw_public(mine, _raw_public(other))
    with pytest.raises(DecryptionError):
        Credential.objects.get(pk=mine.pk).data  # noqa: B018 - decrypts
    assert Credential.objects.get(pk=other.pk).data["clientId"] == "client-9"


def test_the_migration_fills_rows_written_before_it_and_unknown_rows_decrypt(alice):
    credential = _client(alice)
    _set_raw_public(credential, None)  # as every row was before the column
    answered = alice.client.get(alice.url(f"credentials/{credential.pk}")).json()
    assert answered["data"]["oauth2Client"]["clientId"] == "client-7"  # decrypted instead
    fill_public(apps, None)
    assert _raw_public(credential) == {
        "clientId": "client-7",
        "tokenUrl": "https://auth.example.com/token",
    }
    assert Credential.objects.get(pk=credential.pk).data == CLIENT  # and it matches


def test_the_migration_leaves_rows_it_cannot_decrypt_unknown(alice, settings):
    credential = _client(alice)
    _set_raw_public(credential, None)
    other = "other:" + base64.b64encode(b"o" * 32).decode()
    settings.PATCHBAY_ENCRYPTION_KEYS = other  # the row's key is not in the ring
    fill_public(apps, None)
    assert _raw_public(credential) is None


def test_rotation_keeps_the_plaintext_copy_valid(alice, settings):
    credential = _client(alice)
    before = _raw_public(credential)
    new = "rotated:" + base64.b64encode(b"r" * 32).decode()
    settings.PATCHBAY_ENCRYPTION_KEYS = f"{new},{settings.PATCHBAY_ENCRYPTION_KEYS}"
    call_command("rotate_encryption_keys", stdout=StringIO())
    envelope = Credential.objects.values_list("data", flat=True).get(pk=credential.pk)
    assert envelope.startswith("pb1:rotated:")
    assert _raw_public(credential) == before
    settings.PATCHBAY_ENCRYPTION_KEYS = new  # the old key is gone: the row still opens
    assert Credential.objects.get(pk=credential.pk).data == CLIENT
    body = alice.client.get(alice.url(f"credentials/{credential.pk}")).json()
    assert body["data"]["oauth2Client"] == before
