"""SPEC §5.3 refresh, against the real provider (django-oauth-toolkit, rotating refresh tokens)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
import requests
from django.db import connection as db_connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from connections.models import ConnectionCredential, ConnectionStatus
from credentials.models import Credential
from tests.lifecycle.conftest import age, events, get_token, token_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quiet_provider(caplog):
    # The provider's own loggers and the test browser legitimately log codes and tokens;
    # assert_no_secrets is about Patchbay's.
    caplog.set_level(logging.INFO, logger="oauth2_provider")
    caplog.set_level(logging.INFO, logger="urllib3")


def refresh_tokens_at_provider():
    from oauth2_provider.models import get_refresh_token_model

    return get_refresh_token_model().objects


def test_it_refreshes_an_expired_token_at_the_real_provider(alice, provider, connected, wire):
    old = age(connected).data
    response = get_token(alice, connected)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["accessToken"] != old["accessToken"]
    assert provider.me(body["accessToken"]).status_code == 200
    assert provider.me(old["accessToken"]).status_code in (401, 403)
    assert wire.grants(provider.token_url) == ["refresh_token"]

    stored = token_of(connected)
    assert stored.data["accessToken"] == body["accessToken"]
    assert stored.token_expires_at is not None
    assert stored.token_expires_at > timezone.now() + timedelta(seconds=60)
    assert parse_datetime(body["expiresAt"]) == stored.token_expires_at
    assert stored.errors == []


def test_it_rotates_the_refresh_token_and_the_old_one_is_dead(alice, provider, connected):
    old_refresh = age(connected).data["refreshToken"]
    assert get_token(alice, connected).status_code == 200
    new_refresh = token_of(connected).data["refreshToken"]
    assert new_refresh != old_refresh
    assert refresh_tokens_at_provider().get(token=old_refresh).revoked is not None
    reuse = requests.post(
        provider.token_url,
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        auth=(provider.client_id, provider.client_secret),
        timeout=10,
    )
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # and the new one keeps working: a second refresh succeeds
    assert get_token(alice, connected, "?forceRefresh=true").status_code == 200


def test_it_does_not_call_the_provider_for_a_fresh_token(alice, connected, wire):
    before = token_of(connected).data["accessToken"]
    for _ in range(3):
        assert get_token(alice, connected).json()["accessToken"] == before
    assert wire.sent == []


def test_it_refreshes_within_the_configured_margin(alice, provider, connected, wire):
    age(connected, seconds_left=45, at_provider=False)  # margin is 60 s
    before = token_of(connected).data["accessToken"]
    assert get_token(alice, connected).json()["accessToken"] != before
    assert len(wire.to(provider.token_url)) == 1


def test_it_leaves_a_token_outside_the_margin_alone(alice, connected, wire):
    age(connected, seconds_left=90, at_provider=False)
    get_token(alice, connected)
    assert wire.sent == []


def test_force_refresh_refreshes_a_fresh_token(alice, provider, connected, wire):
    before = token_of(connected).data["accessToken"]
    response = get_token(alice, connected, "?forceRefresh=true")
    assert response.status_code == 200
    assert response.json()["accessToken"] != before
    assert provider.me(response.json()["accessToken"]).status_code == 200
    assert get_token(alice, connected, "?forceRefresh=false").json() == response.json()
    assert len(wire.to(provider.token_url)) == 1


def test_a_token_without_expiry_is_used_until_forced(alice, connected, wire):
    credential = token_of(connected)
    data = dict(credential.data)
    data["expiresAt"] = None
    credential.data = data
    credential.save()
    assert Credential.objects.get(pk=credential.pk).token_expires_at is None
    assert get_token(alice, connected).json()["accessToken"] == data["accessToken"]
    assert wire.sent == []
    forced = get_token(alice, connected, "?forceRefresh=true").json()
    assert forced["accessToken"] != data["accessToken"]
    assert forced["expiresAt"] is not None


def test_a_refused_grant_needs_reauthorisation(alice, provider, connected, wire, assert_no_secrets):
    credential = age(connected)
    refresh_tokens_at_provider().get(token=credential.data["refreshToken"]).revoke()

    response = get_token(alice, connected)
    assert response.status_code == 409
    assert response.json()["code"] == "reauthorisation_required"
    assert response.json()["providerError"] == "invalid_grant"
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.NEEDS_REAUTH
    assert token_of(connected).errors == ["invalid_grant: refresh token refused"]
    assert events("connection.needs_reauth") == [
        {
            "connectionId": str(connected.pk),
            "connectorId": str(connected.connector_id),
            "credentialId": str(credential.pk),
            "status": "needs_reauth",
            "error": "invalid_grant",
        }
    ]
    # asking again does not call the provider again
    assert get_token(alice, connected, "?forceRefresh=true").status_code == 409
    assert len(wire.to(provider.token_url)) == 1
    detail = alice.client.get(alice.url(f"connections/{connected.pk}")).json()
    assert detail["status"] == "needs_reauth"
    assert_no_secrets(
        credential.data["refreshToken"],
        credential.data["accessToken"],
        provider.client_secret,
        texts=[response.content.decode(), str(detail)],
    )


def test_reauthorising_makes_a_needs_reauth_connection_active_again(
    alice, provider, connected, wired
):
    from tests.lifecycle.conftest import authorise  # noqa: F401 - documents the helper

    credential = age(connected)
    refresh_tokens_at_provider().get(token=credential.data["refreshToken"]).revoke()
    assert get_token(alice, connected).status_code == 409
    connector, _config, client = wired
    response = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
        {
            "authorizeUrl": provider.authorize_url,
            "clientId": provider.client_id,
            "credential": {"id": str(client.pk), "organisationId": alice.org_id},
            "connectionId": str(connected.pk),
        },
        format="json",
    )
    requests.get(provider.consent(response.json()["url"]), timeout=10)
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.ACTIVE
    assert get_token(alice, connected).status_code == 200
    assert [e["connectionId"] for e in events("connection.reauthorised")] == [str(connected.pk)]


def test_an_expired_token_without_refresh_token_needs_reauthorisation(alice, connected, wire):
    credential = age(connected)
    data = dict(credential.data)
    del data["refreshToken"]
    credential.data = data
    credential.save()
    response = get_token(alice, connected)
    assert response.status_code == 409
    assert response.json()["code"] == "reauthorisation_required"
    assert wire.sent == []
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.NEEDS_REAUTH


def test_a_token_without_refresh_token_is_served_while_it_lasts(alice, connected, wire):
    credential = age(connected, seconds_left=30, at_provider=False)
    data = dict(credential.data)
    del data["refreshToken"]
    credential.data = data
    credential.save()
    assert get_token(alice, connected).json()["accessToken"] == data["accessToken"]
    assert wire.sent == []
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.ACTIVE


# --- Failures a real server cannot be made to produce: faked at the seam ----------------------


def test_a_response_without_refresh_token_keeps_the_old_one(alice, connected, fake_endpoint):
    old = age(connected).data
    fake_endpoint.answer(
        200, {"access_token": "fresh-at", "token_type": "Bearer", "expires_in": 600}
    )
    assert get_token(alice, connected).json()["accessToken"] == "fresh-at"
    stored = token_of(connected).data
    assert stored["refreshToken"] == old["refreshToken"]
    assert stored["accessToken"] == "fresh-at"


def test_a_numeric_string_expires_in_is_understood(alice, connected, fake_endpoint):
    age(connected)
    fake_endpoint.answer(200, {"access_token": "s-at", "token_type": "Bearer", "expires_in": "900"})
    body = get_token(alice, connected).json()
    assert body["accessToken"] == "s-at"
    expires = token_of(connected).token_expires_at
    assert expires is not None
    assert expires > timezone.now() + timedelta(seconds=800)


@pytest.mark.parametrize("expires_in", ["\u00b2", "soon", 1e400, None])
def test_an_unreadable_expires_in_still_keeps_the_rotated_refresh_token(
    alice, connected, fake_endpoint, expires_in
):
    age(connected)
    fake_endpoint.answer(
        200,
        {"access_token": "odd-at", "refresh_token": "rotated-rt", "expires_in": expires_in},
    )
    response = get_token(alice, connected)
    assert response.status_code == 200, response.content
    assert response.json()["accessToken"] == "odd-at"
    stored = token_of(connected)
    assert stored.data["refreshToken"] == "rotated-rt"
    assert stored.token_expires_at is None  # used until refused, then refreshed


def test_a_malformed_client_credential_id_in_stored_settings_is_a_502(alice, connected, wire):
    """Settings written around the API (the admin's raw JSON) may name no valid id."""
    age(connected)
    link = ConnectionCredential.objects.get(connection=connected)
    config = link.auth_scheme_config
    grant = dict(config.settings["grant"])
    grant["authorizationCode"] = {**grant["authorizationCode"], "credentialId": "abc"}
    config.settings = {**config.settings, "grant": grant}
    config.save()
    ConnectionCredential.objects.filter(pk=link.pk).update(client_credential=None)
    response = get_token(alice, connected)
    assert response.status_code == 502, response.content
    assert response.json()["code"] == "token_refresh_failed"
    assert wire.sent == []  # nobody to ask without a client


def test_a_server_error_claiming_invalid_grant_is_not_a_refusal(alice, connected, fake_endpoint):
    age(connected)
    fake_endpoint.answer(503, {"error": "invalid_grant"})
    response = get_token(alice, connected)
    assert response.status_code == 502, response.json()
    assert response.json()["code"] == "token_refresh_failed"
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.ACTIVE
    assert token_of(connected).data["refreshToken"]


def test_a_server_error_answers_502_and_cools_down(
    alice, connected, fake_endpoint, assert_no_secrets
):
    credential = age(connected)
    fake_endpoint.answer(500, {"error": "server_error"})
    first = get_token(alice, connected)
    assert first.status_code == 502
    assert first.json()["code"] == "token_refresh_failed"
    assert first.json()["retryAfter"] == 30
    assert first["Retry-After"] == "30"
    assert len(fake_endpoint.sent) == 1

    again = get_token(alice, connected, "?forceRefresh=true")
    assert again.status_code == 502
    assert 0 < int(again["Retry-After"]) <= 30
    assert len(fake_endpoint.sent) == 1  # not asked again within the cooldown
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.ACTIVE
    assert [e["error"] for e in events("connection.refresh_failed")] == ["server_error"]

    Credential.objects.filter(pk=credential.pk).update(
        refresh_failed_at=timezone.now() - timedelta(seconds=31)
    )
    fake_endpoint.answer(200, {"access_token": "after-cooldown", "expires_in": 600})
    assert get_token(alice, connected).json()["accessToken"] == "after-cooldown"
    assert len(fake_endpoint.sent) == 2
    assert Credential.objects.get(pk=credential.pk).refresh_failed_at is None
    assert_no_secrets(
        credential.data["refreshToken"], texts=[first.content.decode(), again.content.decode()]
    )


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (503, "<html>down</html>", "text/html"),
        (200, "<html>login</html>", "text/html"),
        (200, "{not json", "application/json"),
        (200, {"token_type": "Bearer"}, "application/json"),
        (200, ["a", "list"], "application/json"),
        (400, {"error": "invalid_client"}, "application/json"),
        (302, "", "text/plain"),
    ],
)
def test_other_failures_answer_502(alice, connected, fake_endpoint, status, body, content_type):
    age(connected)
    fake_endpoint.answer(status, body, content_type)
    response = get_token(alice, connected)
    assert response.status_code == 502, response.json()
    assert response.json()["code"] == "token_refresh_failed"
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.ACTIVE


def test_a_timeout_answers_502(alice, connected, fake_endpoint):
    age(connected)
    fake_endpoint.raises = requests.Timeout("slow")
    response = get_token(alice, connected)
    assert response.status_code == 502
    assert "unreachable" in response.json()["message"]


# --- Hostile input and outsiders --------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["?forceRefresh=yes", "?forceRefresh=TRUE", "?forceRefresh=1", "?forceRefresh=",
     "?forceRefresh=true&forceRefresh=true", "?forceRefresh=true%00"],
)  # fmt: skip
def test_it_refuses_a_bad_force_refresh(alice, connected, wire, query):
    response = get_token(alice, connected, query)
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "forceRefresh"
    assert wire.sent == []


def test_outsiders_cannot_refresh(alice, charlie, connected, wire):
    age(connected)
    for response in (
        charlie.client.get(alice.url(f"connections/{connected.pk}/access-token?forceRefresh=true")),
        charlie.client.get(
            charlie.url(f"connections/{connected.pk}/access-token?forceRefresh=true")
        ),
        charlie.client.get(charlie.url(f"connections/{connected.pk}/access-token?forceRefresh=x")),
        APIClient().get(alice.url(f"connections/{connected.pk}/access-token?forceRefresh=true")),
    ):
        assert response.status_code in (401, 403, 404)
        assert token_of(connected).data["accessToken"] not in response.content.decode()
    assert wire.sent == []


@pytest.mark.parametrize("bad", ["nope", "00000000-0000-0000-0000-000000000000", "1' OR 1=1--"])
def test_bad_connection_ids_are_404(alice, bad, wire):
    assert (
        alice.client.get(alice.url(f"connections/{bad}/access-token?forceRefresh=true")).status_code
        == 404
    )
    assert wire.sent == []


# --- Concurrency ------------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_fifty_concurrent_requests_cause_exactly_one_refresh(alice, provider, connected, wire):
    from oauth2_provider.models import get_access_token_model

    old = age(connected).data
    wire.delay = 0.2  # hold the refresh open so the other requests pile up behind the lock
    tokens_before = get_access_token_model().objects.count()
    barrier = threading.Barrier(50)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def ask(force: bool) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.key}")
        try:
            barrier.wait(timeout=30)
            response = client.get(
                alice.url(f"connections/{connected.pk}/access-token")
                + ("?forceRefresh=true" if force else "")
            )
            body = response.json()
            with lock:
                results.append((response.status_code, body.get("accessToken", body.get("code"))))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=ask, args=(i % 5 == 0,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 50
    assert {status for status, _ in results} == {200}
    issued = {token for _, token in results}
    assert len(issued) == 1
    new = issued.pop()
    assert new != old["accessToken"]
    assert wire.grants(provider.token_url) == ["refresh_token"]
    assert get_access_token_model().objects.count() == tokens_before  # one replaced by one
    assert provider.me(new).status_code == 200
    assert token_of(connected).data["accessToken"] == new
