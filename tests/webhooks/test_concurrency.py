"""Several workers at once on PostgreSQL: every due delivery is sent exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from core.errors import PatchbayError
from tests.webhooks.conftest import make_endpoint
from webhooks.jobs import deliver_due
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import MAX_ENDPOINTS, endpoint_create, event_emit


def run_workers(count: int, **kwargs) -> tuple[list[int], list[BaseException]]:
    barrier = threading.Barrier(count)
    results: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            results.append(deliver_due(**kwargs))
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_in_parallel_deliver_each_delivery_exactly_once(alice, receiver):
    slow = receiver.next_status

    def answer_slowly() -> int:
        time.sleep(0.01)  # keep both workers busy at the same time
        return slow()

    receiver.next_status = answer_slowly
    make_endpoint(alice.organisation, receiver.url)
    make_endpoint(alice.organisation, receiver.url + "/second")
    for n in range(40):
        event_emit(organisation=alice.organisation, type="connection.created", data={"n": n})
    assert WebhookDelivery.objects.count() == 80

    results, errors = run_workers(2)

    assert errors == []
    assert sum(results) == 80
    assert all(r > 0 for r in results), results  # both workers took part
    sent = Counter((r.path, r.headers["webhook-id"]) for r in receiver.received)
    assert len(sent) == 80
    assert set(sent.values()) == {1}
    assert WebhookDelivery.objects.filter(delivered_at__isnull=True).count() == 0
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_many_workers_with_small_limits_lose_nothing(alice, receiver):
    make_endpoint(alice.organisation, receiver.url)
    for n in range(30):
        event_emit(organisation=alice.organisation, type="credential.expired", data={"n": n})
    total = 0
    while True:
        results, errors = run_workers(4, limit=3)
        assert errors == []
        total += sum(results)
        if sum(results) == 0:
            break
    assert total == 30
    ids = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(ids) == 30
    assert set(ids.values()) == {1}


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_cannot_pass_the_endpoint_limit(alice):
    for n in range(MAX_ENDPOINTS - 1):
        make_endpoint(alice.organisation, f"https://hooks.example/{n}")
    count = 6
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def create(n: int) -> None:
        try:
            barrier.wait()
            endpoint_create(organisation=alice.organisation, url=f"https://hooks.example/x{n}")
            outcomes.append("created")
        except PatchbayError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["created"] + ["limit_reached"] * (count - 1)
    assert WebhookEndpoint.objects.filter(organisation=alice.organisation).count() == MAX_ENDPOINTS
