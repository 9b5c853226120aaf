"""``Patchbay-Retries`` (SPEC §9.1): only what is safe to repeat, waiting as asked."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
import requests

import core.outbound
from connections.proxy.retries import asked_wait, backoff
from tests.proxy.conftest import Reply, api_key_connection, proxy_url


def _script(*replies: Reply):
    queue = list(replies)
    return lambda seen: queue.pop(0) if len(queue) > 1 else queue[0]


def test_a_429_with_retry_after_is_retried_once_after_the_wait(alice, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    stamps: list[float] = []

    def answer(seen):
        stamps.append(time.monotonic())
        if len(stamps) == 1:
            return Reply(429, headers=[("Retry-After", "1")], body=b"slow down")
        return Reply(200, body=b"done")

    upstream.reply(answer)
    response = alice.client.get(proxy_url(alice, connection, "a"), HTTP_PATCHBAY_RETRIES="3")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"done"
    assert len(upstream.seen) == 2
    assert stamps[1] - stamps[0] >= 1.0
    assert "patchbay-retries" not in upstream.last.names()


def test_a_post_without_an_idempotency_key_is_never_retried(alice, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    upstream.reply(lambda seen: Reply(503, body=b"busy"))
    response = alice.client.post(
        proxy_url(alice, connection, "a"),
        b"{}",
        content_type="application/json",
        HTTP_PATCHBAY_RETRIES="5",
    )
    assert response.status_code == 503
    assert response["Patchbay-Proxy"] == "upstream"
    assert len(upstream.seen) == 1


def test_a_post_with_an_idempotency_key_is_retried_with_its_body(alice, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    upstream.reply(_script(Reply(502), Reply(503), Reply(201, body=b"made")))
    response = alice.client.post(
        proxy_url(alice, connection, "a"),
        b'{"n": 1}',
        content_type="application/json",
        HTTP_PATCHBAY_RETRIES="2",
        HTTP_IDEMPOTENCY_KEY="order-77",
    )
    assert response.status_code == 201
    assert [s.body for s in upstream.seen] == [b'{"n": 1}'] * 3
    assert {s.header("Idempotency-Key") for s in upstream.seen} == {"order-77"}


def test_without_the_header_nothing_is_retried(alice, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    upstream.reply(lambda seen: Reply(503))
    assert alice.client.get(proxy_url(alice, connection, "a")).status_code == 503
    assert len(upstream.seen) == 1


def test_retries_stop_at_n(alice, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    upstream.reply(lambda seen: Reply(504, headers=[("Retry-After", "0")]))
    response = alice.client.delete(proxy_url(alice, connection, "a"), HTTP_PATCHBAY_RETRIES="2")
    assert response.status_code == 504
    assert response["Patchbay-Proxy"] == "upstream"
    assert len(upstream.seen) == 3


def test_other_statuses_are_not_retried(alice, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    upstream.reply(lambda seen: Reply(500))
    alice.client.get(proxy_url(alice, connection, "a"), HTTP_PATCHBAY_RETRIES="3")
    assert len(upstream.seen) == 1


def test_a_wait_past_the_deadline_is_not_made(alice, upstream, settings):
    settings.PATCHBAY_PROXY_DEADLINE_SECONDS = 2.0
    connection, _key = api_key_connection(alice, upstream.url)
    upstream.reply(lambda seen: Reply(429, headers=[("Retry-After", "30")]))
    started = time.monotonic()
    response = alice.client.get(proxy_url(alice, connection, "a"), HTTP_PATCHBAY_RETRIES="5")
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert time.monotonic() - started < 1.5
    assert len(upstream.seen) == 1


def test_a_connection_error_is_retried(alice, upstream, monkeypatch):
    # A reset connection is what a real server cannot be made to do on cue: faked at the seam.
    connection, _key = api_key_connection(alice, upstream.url)
    real = core.outbound.transport
    calls = []

    def flaky(adapter, request, **kwargs):
        calls.append(request.url)
        if len(calls) == 1:
            raise requests.ConnectionError("connection reset by peer")
        return real(adapter, request, **kwargs)

    monkeypatch.setattr(core.outbound, "transport", flaky)
    response = alice.client.put(
        proxy_url(alice, connection, "a"),
        b"v",
        content_type="text/plain",
        HTTP_PATCHBAY_RETRIES="1",
    )
    assert response.status_code == 200
    assert len(calls) == 2
    assert len(upstream.seen) == 1


@pytest.mark.parametrize("value", ["6", "-1", "x", "1.5", "²", ""])
def test_a_bad_retries_header_is_400(alice, upstream, value):
    connection, _key = api_key_connection(alice, upstream.url)
    response = alice.client.get(proxy_url(alice, connection, "a"), HTTP_PATCHBAY_RETRIES=value)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_header")
    assert upstream.seen == []


def test_the_wait_honours_the_upstreams_headers():
    now = 1_800_000_000.0

    def wait(**headers: str) -> float | None:
        named = {k.replace("_", "-"): v for k, v in headers.items()}
        return asked_wait(lambda name: named.get(name), now=now)

    assert wait(retry_after=formatdate(now + 7, usegmt=True)) == pytest.approx(7, abs=1)
    assert wait(x_ratelimit_reset=str(int(now + 4))) == pytest.approx(4)
    assert wait(ratelimit_reset="3") == 3
    assert wait(retry_after="soon") is None
    assert wait() is None
    assert backoff(0, 2.5) >= 2.5
    assert all(0 <= backoff(attempt, None) <= 10 for attempt in range(10))
