"""The demo hub (``manage.py demo``) and the demo host page (``manage.py demo_host``)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from demo import host
from demo.services import HUB_NAME
from embed.models import Hub
from organisations.keys import api_key_create


def run_demo(*args: str) -> None:
    call_command("demo", *args, stdout=StringIO())


@pytest.mark.django_db
def test_the_demo_hub_offers_both_demo_connectors_to_the_demo_host_page():
    run_demo()
    run_demo()  # idempotent
    hub = Hub.objects.get(name=HUB_NAME)
    assert hub.allowed_origins == ["http://localhost:8001"]
    assert sorted(c.name for c in hub.connectors.all()) == ["Demo API-key service", "Demo Provider"]
    types = sorted(c.auth_scheme_configs.get().type for c in hub.connectors.all())
    assert types == ["api-key", "oauth2"]


@pytest.mark.django_db
def test_the_demo_hub_is_framed_from_the_host_page_port_actually_used(client, monkeypatch):
    run_demo("--host-port", "9001")
    hub = Hub.objects.get(name=HUB_NAME)
    assert hub.allowed_origins == ["http://localhost:9001"]
    assert hub.return_urls == ["http://localhost:9001/"]
    response = client.get(f"/embed/{hub.pk}/")
    assert "frame-ancestors http://localhost:9001;" in response["Content-Security-Policy"] + ";"

    monkeypatch.setenv("DEMO_HOST_PORT", "9002")  # what `make run DEMO_HOST_PORT=…` exports
    run_demo()
    assert Hub.objects.get(name=HUB_NAME).allowed_origins == ["http://localhost:9002"]


@pytest.mark.django_db
def test_the_demo_hubs_panel_is_framable_from_the_demo_host_page_only(client):
    run_demo()
    hub = Hub.objects.get(name=HUB_NAME)
    response = client.get(f"/embed/{hub.pk}/")
    assert "frame-ancestors http://localhost:8001;" in response["Content-Security-Policy"] + ";"


def test_the_demo_host_page_includes_connect_js_from_patchbay():
    html = host.page(patchbay_url="http://127.0.0.1:8000", hub_id="hub-1")
    assert '<script src="http://127.0.0.1:8000/embed/hub-1/connect.js"></script>' in html
    assert "Patchbay.connect(" in html
    assert 'fetch("/patchbay-session", { method: "POST" })' in html


@pytest.fixture
def demo_host(alice, live_server, settings) -> Iterator[str]:
    """The demo host's backend, minting sessions for alice's hub at the live server."""
    settings.PATCHBAY_PUBLIC_URL = live_server.url
    hub = Hub.objects.create(organisation=alice.organisation, name="Demo", allowed_origins=[])
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    origin = f"http://localhost:{server.server_address[1]}"
    server.RequestHandlerClass = host.handler(
        own_origin=origin,
        html=host.page(patchbay_url=live_server.url, hub_id=str(hub.pk)),
        mint=host.SessionMinter(
            patchbay_url=live_server.url,
            organisation_id=alice.org_id,
            hub_id=str(hub.pk),
            api_key=api_key_create(organisation=alice.organisation, name="host").key,
        ),
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()


def post(url: str, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(url, data=b"", headers=headers, method="POST")
    return urllib.request.urlopen(request, timeout=10)


@pytest.mark.django_db(transaction=True)
def test_the_demo_host_mints_a_working_session_through_the_api(demo_host):
    with post(f"{demo_host}/patchbay-session", {"Origin": demo_host}) as response:
        assert response.headers["Cache-Control"] == "no-store"
        body = json.load(response)
    hub = Hub.objects.get()
    embed = APIClient()
    embed.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    session = embed.get(f"/api/v2/embed/{hub.pk}/session")
    assert session.status_code == 200, session.content
    assert session.json()["endUser"]["externalId"] == host.END_USER["externalId"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", [None, "http://evil.example", "null"])
def test_the_demo_host_mints_no_session_for_another_site(demo_host, origin):
    headers = {} if origin is None else {"Origin": origin}
    with pytest.raises(urllib.error.HTTPError) as refused:
        post(f"{demo_host}/patchbay-session", headers)
    assert refused.value.code == 403
