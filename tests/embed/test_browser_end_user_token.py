"""The widget with a company-signed end-user token, in real Chromium (SPEC §11): the host
page hands ``connect.js`` a JWT its backend signed instead of a minted session token; the
panel trades it for a connect session once and connects with it."""

from __future__ import annotations

import json

import pytest

from connections.models import Connection
from embed.models import EndUser, EndUserTokenUse, Hub
from tests.embed.test_browser_widget import (  # noqa: F401 (fixtures)
    chromium,
    embed_requests,
    framed_hub,
    host_page,
    org_connection,
    page,
    patchbay,
    site,
    wait_for_event,
)
from tests.jwt_keys import claims, ec_key

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def signed_hub(framed_hub):  # noqa: F811
    """The framed hub, with the company's public key registered."""
    key = ec_key("acme-widget")
    Hub.objects.filter(pk=framed_hub.hub.pk).update(signing_keys={"keys": [key.public_jwk]})
    framed_hub.company_key = key
    return framed_hub


def company_token(hub, jti: str = "widget-1") -> str:
    """What the company's backend signs for its signed-in user."""
    return hub.company_key.sign(claims(sub="acme-user-7", aud=hub.id, jti=jti, name="Grace Hopper"))


def test_a_company_signed_token_connects_an_api_key_account(
    page,  # noqa: F811
    site,  # noqa: F811
    patchbay,  # noqa: F811
    signed_hub,
):
    token = company_token(signed_hub)
    site.pages["/"] = host_page(patchbay, signed_hub.id, token)
    requests = embed_requests(page)
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    item = panel.locator(f"#connector-{signed_hub.api_key.pk}")
    item.get_by_role("button", name="Connect").click()
    item.get_by_label(f"{signed_hub.api_key.name} API key").fill("sk-live-signed-user-123")
    item.locator("form").get_by_role("button", name="Connect").click()

    connected = wait_for_event(page, "patchbay:connected")
    connection = org_connection(signed_hub, connected["connectionId"])
    assert connection["endUser"]["externalId"] == "acme-user-7"
    assert connection["systemId"] == str(signed_hub.api_key.pk)
    stored = Connection.objects.get(pk=connected["connectionId"]).connection_credentials.get()
    assert stored.credential.data == {"value": "sk-live-signed-user-123"}
    assert EndUser.objects.get().display_name == "Grace Hopper"
    # The JWT went to Patchbay once, to be traded; every later call carried the session.
    first, *rest = requests
    assert (first.method, first.url) == ("POST", f"{patchbay}/api/v2/embed/{signed_hub.id}/session")
    assert first.headers["authorization"] == f"Bearer {token}"
    assert rest
    assert all(r.headers["authorization"].startswith("Bearer pbs_") for r in rest)
    assert EndUserTokenUse.objects.get().jti == "widget-1"
    # Never in a URL, and the page heard nothing with it.
    assert all(token not in r.url for r in requests)
    assert token not in json.dumps(page.evaluate("window.heard")[1:])


def test_a_replayed_token_is_reported_to_the_host_page(
    page,  # noqa: F811
    site,  # noqa: F811
    patchbay,  # noqa: F811
    signed_hub,
):
    from tests.embed.conftest import embed_client

    token = company_token(signed_hub, jti="spent")
    assert embed_client(token).post(f"/api/v2/embed/{signed_hub.id}/session").status_code == 201
    site.pages["/"] = host_page(patchbay, signed_hub.id, token)
    page.goto(f"{site.origin}/")
    error = wait_for_event(page, "patchbay:error")
    assert error["error"] == "invalid_token"
    assert "used already" in error["message"]
    panel = page.frame_locator("iframe")
    assert "used already" in panel.locator("#status").inner_text()
    assert panel.get_by_role("button", name="Connect").count() == 0
