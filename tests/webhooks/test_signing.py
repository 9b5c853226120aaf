"""The README's verification recipe verifies real deliveries and rejects forgeries."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from tests.webhooks.conftest import make_endpoint
from tests.webhooks.recipe import verify_webhook
from webhooks.jobs import deliver_due
from webhooks.models import WebhookDelivery
from webhooks.services import endpoint_secret_rotate, event_emit
from webhooks.signing import secret_generate, secret_key, sign

RECIPE = Path(__file__).with_name("recipe.py")
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_recipe() -> str:
    text = README.read_text()
    section = text.split("\n## Webhooks\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert blocks, "the README's Webhooks section has no python block"
    return blocks[0]


def test_the_readme_recipe_is_the_tested_one() -> None:
    assert readme_recipe() == RECIPE.read_text()


def test_the_readme_recipe_runs_as_written(alice, receiver) -> None:
    namespace: dict[str, object] = {}
    exec(compile(readme_recipe(), "README.md", "exec"), namespace)
    verify = namespace["verify_webhook"]
    _, secret = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={"x": 1})
    deliver_due()
    (got,) = receiver.received
    assert verify(secret, got.headers, got.body)  # type: ignore[operator]


def test_it_signs_a_delivery_the_recipe_verifies(alice, receiver) -> None:
    _, secret = make_endpoint(alice.organisation, receiver.url)
    event = event_emit(
        organisation=alice.organisation,
        type="connection.created",
        data={"connectionId": "c-1", "name": "Ünïcode ✓"},
    )
    deliver_due()
    (got,) = receiver.received
    assert verify_webhook(secret, got.headers, got.body)
    assert got.headers["webhook-id"] == str(event.pk)
    assert abs(int(got.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    assert json.loads(got.body) == {
        "type": "connection.created",
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": {"connectionId": "c-1", "name": "Ünïcode ✓"},
        "organisationId": alice.org_id,
    }
    assert got.body == json.dumps(json.loads(got.body), separators=(",", ":")).encode()


def test_the_recipe_rejects_a_tampered_body(alice, receiver) -> None:
    _, secret = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.deleted", data={"id": "a"})
    deliver_due()
    (got,) = receiver.received
    tampered = got.body.replace(b'"id":"a"', b'"id":"b"')
    assert tampered != got.body
    assert not verify_webhook(secret, got.headers, tampered)


def test_the_recipe_rejects_tampered_headers_and_other_secrets(alice, receiver) -> None:
    _, secret = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.deleted", data={})
    deliver_due()
    (got,) = receiver.received
    assert not verify_webhook(secret_generate(), got.headers, got.body)
    assert not verify_webhook(secret, {**got.headers, "webhook-id": "other"}, got.body)
    later = str(int(got.headers["webhook-timestamp"]) + 1)
    assert not verify_webhook(secret, {**got.headers, "webhook-timestamp": later}, got.body)
    assert not verify_webhook(secret, {**got.headers, "webhook-timestamp": "x"}, got.body)
    assert not verify_webhook(secret, {**got.headers, "webhook-signature": "v1,AAAA"}, got.body)
    missing = {k: v for k, v in got.headers.items() if k != "webhook-signature"}
    assert not verify_webhook(secret, missing, got.body)


def test_the_recipe_rejects_an_old_timestamp(alice, receiver) -> None:
    _, secret = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="credential.expired", data={})
    now = timezone.now()
    WebhookDelivery.objects.update(next_attempt_at=now - timedelta(minutes=10))
    deliver_due(now=now - timedelta(minutes=6))  # an attempt signed six minutes ago
    (got,) = receiver.received
    assert not verify_webhook(secret, got.headers, got.body)
    assert verify_webhook(secret, got.headers, got.body, tolerance=420)


def test_the_recipe_rejects_a_timestamp_from_the_future(alice, receiver) -> None:
    _, secret = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="credential.expired", data={})
    deliver_due(now=timezone.now() + timedelta(minutes=6))
    (got,) = receiver.received
    assert not verify_webhook(secret, got.headers, got.body)


def test_a_replayed_delivery_fails_once_the_tolerance_has_passed(alice, receiver) -> None:
    _, secret = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="credential.expired", data={})
    deliver_due()
    (got,) = receiver.received
    # Timestamps from the clock at the check (the recipe reads it too), not from the
    # delivery: on a busy machine seconds may pass between the two.
    old = int(time.time()) - 301
    replayed = {
        **got.headers,
        "webhook-timestamp": str(old),
        "webhook-signature": sign(
            secret=secret, message_id=got.headers["webhook-id"], timestamp=old, body=got.body
        ),
    }
    assert not verify_webhook(secret, replayed, got.body)
    recent = int(time.time()) - 240  # well inside the 300 s tolerance
    fresh = {**replayed, "webhook-timestamp": str(recent)}
    fresh["webhook-signature"] = sign(
        secret=secret, message_id=got.headers["webhook-id"], timestamp=recent, body=got.body
    )
    assert verify_webhook(secret, fresh, got.body)


def test_a_rotation_without_overlap_signs_with_the_new_secret_only(alice, receiver) -> None:
    endpoint, old_secret = make_endpoint(alice.organisation, receiver.url)
    new_secret = endpoint_secret_rotate(endpoint=endpoint, overlap_seconds=0).secret
    assert new_secret != old_secret
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    deliver_due()
    (got,) = receiver.received
    assert verify_webhook(new_secret, got.headers, got.body)
    assert not verify_webhook(old_secret, got.headers, got.body)


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    first, second = secret_generate(), secret_generate()
    assert first.startswith("whsec_")
    assert len(secret_key(first)) == 32
    assert first != second
