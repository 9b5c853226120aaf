"""A token endpoint that trickles its answer is cut at the token deadline
(``PATCHBAY_HTTP_TOKEN_DEADLINE``, far shorter than the general outbound one), and the
production server (gunicorn with threaded workers, as README says) goes on serving other
requests meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from organisations.keys import api_key_create
from organisations.models import Organisation
from tests.connections import factories as f
from tests.servers import gunicorn

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

TOKEN_DEADLINE = 3


@pytest.fixture
def trickling_token_endpoint() -> Iterator[str]:
    """Answers 200 and then one byte of JSON every 0.2 s for a minute: every read arrives
    within any read timeout, the answer never ends."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for _ in range(300):
                if stop.wait(0.2):
                    return
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:  # Patchbay hung up: the point of the test
                    return

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def test_a_trickling_token_endpoint_is_cut_at_its_deadline_while_others_are_served(
    tmp_path: Path, trickling_token_endpoint: str
) -> None:
    organisation = Organisation.objects.create(name="Alice Ltd")
    key = api_key_create(organisation=organisation, name="deadline").key
    client = f.client_credential(organisation, token_url=trickling_token_endpoint)
    connector, _ = f.oauth2_connector(
        organisation,
        authorizeUrl="",
        tokenUrl=trickling_token_endpoint,
        grant={
            "type": "clientCredentials",
            "clientCredentials": {
                "credentialId": str(client.pk),
                "organisationId": str(organisation.pk),
                "clientId": "client-123",
            },
        },
    )
    headers = {"Authorization": f"Bearer {key}"}
    env = {
        "PATCHBAY_ALLOW_INSECURE_HTTP": "true",
        "PATCHBAY_ALLOW_PRIVATE_NETWORKS": "true",
        "PATCHBAY_HTTP_TOKEN_DEADLINE_SECONDS": str(TOKEN_DEADLINE),
    }
    # README's production command, threads and all (one worker, so only threads can help).
    options = ("-c", "config/gunicorn.py", "--workers", "1", "--threads", "4")
    with gunicorn(tmp_path, env, options=options) as base, ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        slow = pool.submit(
            requests.post,
            f"{base}/api/v2/o/{organisation.pk}/connectors/{connector.pk}/oauth2/token",
            json={"name": "Robot"},
            headers=headers,
            timeout=60,
        )
        time.sleep(0.5)  # the exchange is under way: the endpoint is trickling
        served = []
        while not slow.done():
            answer = requests.get(f"{base}/api/v2/o/{organisation.pk}", headers=headers, timeout=5)
            served.append(answer.status_code)
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        response = slow.result()
    assert response.status_code == 502, response.text
    assert response.json()["code"] == "token_exchange_failed"
    # Cut at the token deadline, not at the general one (40 s) or when the endpoint gives up
    # (a minute).
    assert TOKEN_DEADLINE - 0.5 <= elapsed < TOKEN_DEADLINE + 10
    assert len(served) >= 3
    assert set(served) == {200}
    assert not organisation.connections.exists()
