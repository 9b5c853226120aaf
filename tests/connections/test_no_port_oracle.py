"""The SSRF guard is no port scanner (issue 18, item 18): a tenant who picks a token or
webhook URL learns the same from a blocked address, a closed port, a silent port and an
open port that speaks no HTTP. The operator still sees which, in the log and the admin."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from connections.models import Connection
from tests.connections import factories as f
from tests.connections.test_callback import API, start
from webhooks.jobs import deliver_due
from webhooks.models import WebhookDelivery
from webhooks.services import event_emit


class _Listener:
    """A real TCP port on loopback: ``garbage`` answers a line that is not HTTP and hangs up,
    ``silent`` accepts and says nothing (the client times out)."""

    def __init__(self, mode: str) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.mode = mode
        self.open: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            if self.mode == "garbage":
                conn.sendall(b"SSH-2.0-OpenSSH_9.0\r\n")
                conn.close()
            else:
                self.open.append(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for conn in self.open:
            conn.close()
        self.sock.close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connection refused
    return port


@pytest.fixture
def targets(settings) -> Iterator[dict[str, str]]:
    """One URL per situation a scanner would want to tell apart."""
    settings.PATCHBAY_HTTP_TIMEOUT = (0.5, 0.5)
    garbage, silent = _Listener("garbage"), _Listener("silent")
    try:
        yield {
            "closed port": f"http://127.0.0.1:{_closed_port()}/x",
            "not HTTP": f"http://127.0.0.1:{garbage.port}/x",
            "silent": f"http://127.0.0.1:{silent.port}/x",
            "blocked": "http://127.0.0.1:{port}/x",  # filled in below, guard on
        }
    finally:
        garbage.close()
        silent.close()


def _blocked(settings, url: str) -> None:
    if "{port}" in url:
        settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False


def test_a_token_exchange_answers_the_same_whatever_is_at_the_url(alice, settings, targets, caplog):
    answers = {}
    for situation, url in targets.items():
        settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = True
        url = url.format(port=_closed_port())
        connector, _ = f.oauth2_connector(alice.organisation, name=situation, tokenUrl=url)
        credential = f.client_credential(alice.organisation)
        state = start(alice, connector, credential)
        _blocked(settings, targets[situation])
        response = alice.client.get(API, {"code": "c", "state": state})
        assert response.status_code == 502, (situation, response.content)
        answers[situation] = response.json()
    assert len({str(a) for a in answers.values()}) == 1, answers
    assert next(iter(answers.values()))["code"] == "token_exchange_failed"
    assert "unreachable" in next(iter(answers.values()))["message"]
    assert not Connection.objects.exists()
    # The operator's log still tells them apart.
    logged = caplog.text
    assert "refused blocked" in logged
    assert "refused connection" in logged
    assert "refused timeout" in logged


def test_webhook_deliveries_show_tenants_one_error_and_operators_the_detail(
    alice, settings, targets, admin_client
):
    from tests.webhooks.conftest import make_endpoint

    for situation, url in targets.items():
        settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = "{port}" not in url
        endpoint, _ = make_endpoint(alice.organisation, url.format(port=_closed_port()))
        event_emit(organisation=alice.organisation, type="connection.created", data={})
        assert deliver_due() >= 1, situation
        endpoint.active = False
        endpoint.save()
    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == 4
    seen = set()
    for delivery in deliveries:
        listed = alice.client.get(alice.url(f"webhooks/{delivery.endpoint_id}/deliveries"))
        [item] = listed.json()["items"]
        seen.add((item["lastError"], item["lastStatusCode"]))
    assert seen == {("unreachable: The remote server could not be reached.", None)}
    # The stored detail, for the admin, differs by situation.
    details = {d.last_error.split(":")[0] for d in deliveries}
    assert details == {"blocked", "connection", "timeout"}
    page = admin_client.get(f"/admin/webhooks/webhookdelivery/{deliveries[0].pk}/change/")
    assert page.status_code == 200
    assert deliveries[0].last_error.split(":")[0].encode() in page.content
