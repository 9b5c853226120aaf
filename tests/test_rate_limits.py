"""Rate limits (core/ratelimit.py): per API key, per organisation and per client address on
the REST API, per address (and tighter) on the callbacks; 429 in the error shape with
Retry-After; counted in a store that every process shares."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rest_framework.test import APIClient

from organisations.keys import api_key_create
from tests.conftest import Actor
from tests.ratelimits import set_limits


def home(actor: Actor) -> str:
    return f"/api/v2/o/{actor.org_id}"


def assert_limited(response: Any) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "too_many_requests"
    assert body["message"]
    assert 1 <= int(response["Retry-After"]) <= 60


def test_it_limits_each_api_key(alice: Actor, settings: Any) -> None:
    set_limits(settings, key="3/min")
    for _ in range(3):
        assert alice.client.get(home(alice)).status_code == 200
    assert_limited(alice.client.get(alice.url("connectors")))
    # Another key of the same organisation has its own count.
    other = APIClient()
    key = api_key_create(organisation=alice.organisation, name="second").key
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert other.get(home(alice)).status_code == 200


def test_it_limits_each_organisation_over_all_its_keys(
    alice: Actor, charlie: Actor, settings: Any
) -> None:
    set_limits(settings, organisation="4/min")
    other = APIClient()
    key = api_key_create(organisation=alice.organisation, name="second").key
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    for client in (alice.client, other, alice.client, other):
        assert client.get(home(alice)).status_code == 200
    assert_limited(other.get(home(alice)))
    assert_limited(alice.client.get(home(alice)))
    # Another organisation is not slowed down by alice's traffic.
    assert charlie.client.get(home(charlie)).status_code == 200


def test_it_counts_refused_keys_against_the_address(alice: Actor, settings: Any) -> None:
    set_limits(settings, address="3/min")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer pb_000000000000_guess")
    for _ in range(3):
        assert stranger.get(home(alice)).status_code == 401
    # The fourth guess from that address is not even checked, and a good key from the
    # same address waits too.
    assert_limited(stranger.get(home(alice)))
    assert_limited(alice.client.get(home(alice)))
    assert alice.client.get(home(alice), REMOTE_ADDR="198.51.100.4").status_code == 200


def test_it_ignores_a_forged_forwarded_for_address(alice: Actor, settings: Any) -> None:
    set_limits(settings, address="2/min")
    for index in range(2):
        alice.client.get(home(alice), HTTP_X_FORWARDED_FOR=f"192.0.2.{index}")
    assert_limited(alice.client.get(home(alice), HTTP_X_FORWARDED_FOR="192.0.2.99"))


def test_it_believes_the_forwarded_for_entry_of_its_own_proxy(alice: Actor, settings: Any) -> None:
    set_limits(settings, address="2/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for _ in range(2):
        alice.client.get(home(alice), HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert_limited(alice.client.get(home(alice), HTTP_X_FORWARDED_FOR="192.0.2.1"))
    assert alice.client.get(home(alice), HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/connections/oauth2/callback", "/api/v2/connections/oauth2/callback"]
)
def test_it_limits_the_callbacks_tighter(client: Any, settings: Any, path: str) -> None:
    set_limits(settings, callback="2/min")
    for _ in range(2):
        assert client.get(f"{path}?state=unknown&code=c").status_code in (400, 401)
    assert_limited(client.get(f"{path}?state=unknown&code=c"))
    # Other paths from that address are not held up by the callback limit.
    assert client.get("/api/v2/o/00000000-0000-0000-0000-000000000000").status_code == 401


def test_off_switches_every_limit_off(alice: Actor, settings: Any) -> None:
    set_limits(settings, key="1/min", organisation="1/min", address="1/min")
    settings.PATCHBAY_RATE_LIMITS = False
    for _ in range(5):
        assert alice.client.get(home(alice)).status_code == 200


def test_it_logs_the_refusal_without_the_key(alice: Actor, settings: Any, refusals: Any) -> None:
    set_limits(settings, key="1/min")
    alice.client.get(home(alice))
    assert_limited(alice.client.get(home(alice)))
    record = refusals.one(logging.WARNING, "too_many_requests", scope="key")
    assert record.refusal_ids["limit"] == "1/min"
    refusals.none_hold(alice.key)


@pytest.mark.django_db
def test_healthz_and_the_admin_are_not_counted(client: Any, settings: Any) -> None:
    set_limits(settings, address="1/min")
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
        assert client.get("/admin/login/").status_code == 200
