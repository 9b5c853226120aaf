"""An embed flow is bound to the browser that started it (issue 18, consent hand-over): the
start page trades the flow's one-time secret for a cookie with a same-origin POST, and the
browser callback refuses an embed flow without that cookie, storing nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from connections.models import AuthorisationRequest, Connection
from connections.oauth.browser import binding_hash, cookie_name
from tests.connections import factories as f
from tests.embed.conftest import initialise_body
from tests.embed.test_hub_initialise import BROWSER, bind, initialise, query

pytestmark = pytest.mark.django_db


def flow(embed, hub) -> dict:
    response = initialise(embed, hub, initialise_body(hub))
    assert response.status_code == 200, response.json()
    answer = dict(response.json())
    answer["state"] = query(answer["url"])["state"][0]
    return answer


def test_the_secret_is_one_use_and_stored_only_as_a_hash(hub, embed):
    started = flow(embed, hub)
    secret = started["browserSecret"]
    assert secret not in started["url"]
    row = AuthorisationRequest.objects.get(pk=started["authorisationId"])
    assert row.browser_secret_hash == binding_hash(secret)
    assert row.browser_binding_hash == ""

    browser = Client()
    bound = bind(browser, started["authorisationId"], secret)
    assert bound.status_code == 204
    assert bound["Cache-Control"] == "no-store"
    cookie = bound.cookies[cookie_name(started["authorisationId"])]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == BROWSER
    assert cookie.value not in (secret, "")
    row.refresh_from_db()
    assert row.browser_secret_hash == ""  # spent
    assert row.browser_binding_hash == binding_hash(cookie.value)

    again = bind(Client(), started["authorisationId"], secret)
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_flow_secret"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": ""},
    ],
)
def test_a_bind_from_anywhere_but_patchbays_own_pages_is_refused(hub, embed, headers):
    started = flow(embed, hub)
    refused = bind(Client(), started["authorisationId"], started["browserSecret"], **headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "cross_origin_refused"
    assert "Set-Cookie" not in refused
    row = AuthorisationRequest.objects.get(pk=started["authorisationId"])
    assert row.browser_binding_hash == ""
    assert row.browser_secret_hash == binding_hash(started["browserSecret"])  # still usable


@pytest.mark.parametrize(
    "change",
    ["wrong secret", "another flow's secret", "expired", "used", "organisation flow"],
)
def test_a_bind_that_names_no_usable_flow_is_400(alice, hub, embed, change):
    started, other = flow(embed, hub), flow(embed, hub)
    authorisation_id, secret = started["authorisationId"], started["browserSecret"]
    rows = AuthorisationRequest.objects.filter(pk=authorisation_id)
    if change == "wrong secret":
        secret = secret[:-2] + "xx"
    elif change == "another flow's secret":
        secret = other["browserSecret"]
    elif change == "expired":
        rows.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif change == "used":
        rows.update(used_at=timezone.now())
    else:  # an organisation flow has no secret: nothing to bind
        connector, _ = f.oauth2_connector(alice.organisation)
        response = alice.client.post(
            alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
            f.initialise_body(f.client_credential(alice.organisation)),
            format="json",
        )
        assert response.status_code == 200, response.json()
        authorisation_id = AuthorisationRequest.objects.get(hub__isnull=True).pk
    refused = bind(Client(), authorisation_id, secret)
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_flow_secret"
    assert not AuthorisationRequest.objects.exclude(browser_binding_hash="").exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([], "invalid_request"),
        ("x", "invalid_json"),
        ({"authorisationId": "not-a-uuid", "secret": "s"}, "invalid_request"),
        ({"secret": "s"}, "invalid_request"),
        ({"x": 1}, "invalid_request"),
    ],
)
def test_a_malformed_bind_is_400_in_the_error_shape(hub, embed, body, code):
    response = Client().post(
        "/embed/flow/bind",
        body,
        content_type="application/json",
        headers={"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not AuthorisationRequest.objects.exclude(browser_binding_hash="").exists()


def test_the_callback_refuses_an_embed_flow_finished_in_another_browser(
    client, hub, embed, token_endpoint, caplog
):
    started = flow(embed, hub)
    stranger = Client()  # the person the provider URL was handed to
    with caplog.at_level(logging.INFO):
        page = stranger.get(BROWSER, {"code": "c", "state": started["state"]})
    assert page.status_code == 400
    assert page.context["code"] == "browser_mismatch"
    assert "embed_result" not in page.context
    assert not Connection.objects.exists()
    assert token_endpoint.sent == []  # the code was never exchanged
    row = AuthorisationRequest.objects.get(pk=started["authorisationId"])
    assert row.used_at is None
    assert row.status == "pending"
    refused = [r for r in caplog.records if getattr(r, "refusal", None) == "browser_mismatch"]
    assert refused
    assert "reason=no_binding" in refused[0].getMessage()
    assert started["browserSecret"] not in caplog.text
    assert started["state"] not in caplog.text

    # Another flow's cookie does not do either.
    second = flow(embed, hub)
    bound = bind(stranger, second["authorisationId"], second["browserSecret"])
    assert bound.status_code == 204
    page = stranger.get(BROWSER, {"code": "c", "state": started["state"]})
    assert page.context["code"] == "browser_mismatch"

    # The browser that started it finishes it.
    assert bind(client, started["authorisationId"], started["browserSecret"]).status_code == 204
    page = client.get(BROWSER, {"code": "c", "state": started["state"]})
    assert page.status_code == 200
    assert Connection.objects.get().end_user is not None


def test_the_api_callback_cannot_finish_an_embed_flow(alice, hub, embed, token_endpoint):
    started = flow(embed, hub)
    response = alice.client.get(
        "/api/v2/connections/oauth2/callback", {"code": "c", "state": started["state"]}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "browser_mismatch"
    assert not Connection.objects.exists()


def test_the_start_page_keeps_its_opener_and_loads_only_its_own_script(client):
    page = client.get("/embed/flow/start")
    assert page.status_code == 200
    assert page["Cross-Origin-Opener-Policy"] == "unsafe-none"
    assert page["Cache-Control"] == "no-store"
    assert page["Referrer-Policy"] == "no-referrer"
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    html = page.content.decode()
    assert '<script src="/embed/assets/flow-start.js?v=' in html
    assert "<script>" not in html  # no inline script
    script = client.get("/embed/assets/flow-start.js")
    assert script.status_code == 200
    assert b"event.source !== opener || event.origin !== SELF" in script.content
    assert client.post("/embed/flow/start").status_code == 405
