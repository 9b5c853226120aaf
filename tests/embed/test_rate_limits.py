"""Rate limits on connect session minting (per organisation) and on the embed API (per
connect session, and per organisation together with its API keys)."""

from __future__ import annotations

from typing import Any

from tests.embed.conftest import EmbedHub, embed_client
from tests.ratelimits import set_limits


def test_it_limits_session_minting_per_organisation(hub: EmbedHub, settings: Any) -> None:
    set_limits(settings, session_mint="2/min")
    hub.mint("user-1")
    hub.mint("user-2")
    response = hub.owner.client.post(
        hub.admin_url("sessions"), {"endUser": {"externalId": "user-3"}}, format="json"
    )
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_requests"
    assert int(response["Retry-After"]) >= 1
    # Other calls of the organisation's key go on.
    assert hub.owner.client.get(hub.admin_url()).status_code == 200


def test_it_limits_each_connect_session(hub: EmbedHub, settings: Any) -> None:
    set_limits(settings, session="2/min")
    first, second = embed_client(hub.mint("user-1")), embed_client(hub.mint("user-2"))
    assert first.get(hub.url("connectors")).status_code == 200
    assert first.get(hub.url("connections")).status_code == 200
    response = first.get(hub.url("session"))
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_requests"
    assert response["Cache-Control"] == "no-store"
    assert second.get(hub.url("session")).status_code == 200


def test_embed_calls_count_against_the_organisation(hub: EmbedHub, settings: Any) -> None:
    token = hub.mint()
    set_limits(settings, organisation="2/min")
    client = embed_client(token)
    assert client.get(hub.url("session")).status_code == 200
    assert client.get(hub.url("connectors")).status_code == 200
    assert hub.owner.client.get(hub.admin_url()).status_code == 429


def test_it_limits_the_widget_pages_per_address(hub: EmbedHub, client: Any, settings: Any) -> None:
    set_limits(settings, address="2/min")
    for _ in range(2):
        assert client.get(f"/embed/{hub.id}/").status_code == 200
    response = client.get(f"/embed/{hub.id}/connect.js")
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_requests"
