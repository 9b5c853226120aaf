"""The outbound-HTTP seam: timeouts, size cap, SSRF guard, one exception type."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from logging import INFO, WARNING

import pytest

from core import outbound
from core.outbound import OutboundError
from core.validation import url_problem


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/big":
            body = b"x" * 2_000_000
        elif path.startswith("/bytes-"):
            body = b"x" * int(path.removeprefix("/bytes-"))
        elif path == "/slow":
            time.sleep(2)
            body = b"late"
        elif self.path.startswith("/trickle-"):
            self._trickle(self.path.removeprefix("/trickle-"))
            return
        else:
            body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _trickle(self, part: str) -> None:
        """One byte every 0.1 s for 8 s, in the headers or the body: never a 0.3 s pause."""
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 80\r\n"
        if part == "unsized-body":  # no length: the body ends when the server closes
            head = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
        slow_head = part == "headers"
        try:
            if slow_head:
                for byte in head:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                self.wfile.write(head)
            self.wfile.write(b"\r\n")
            for _ in range(80):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass  # the client cut us off, as it should

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = {"body": self.rfile.read(length).decode(), "x-test": self.headers.get("X-Test")}
        body = json.dumps(sent).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_it_fetches_from_an_allowed_server(server):
    response = outbound.session().get(f"{server}/ok")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_it_refuses_loopback_unless_private_networks_are_allowed(server, settings):
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(f"{server}/ok")
    assert excinfo.value.kind == "blocked"


def test_it_checks_the_address_actually_connected_to_not_only_the_name(server, settings):
    # "localhost" is a name, not an IP literal: only the connect-time check can catch it.
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(server.replace("127.0.0.1", "localhost") + "/ok")
    assert excinfo.value.kind == "blocked"


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "fd00::1",
        "0.0.0.0",
        "100.64.0.1",  # carrier-grade NAT (RFC 6598)
        "198.18.0.1",  # benchmarking (RFC 2544)
        "224.0.0.1",  # multicast, which ``is_global`` calls global
        "239.255.255.250",
        "ff02::1",
        "ff0e::1",  # global-scope IPv6 multicast
        "::ffff:100.64.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::",
        "not-an-address",
    ],
)
def test_private_and_special_addresses_are_not_allowed(settings, address):
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    assert not outbound.address_allowed(address)


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "2606:4700::1111",
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
        "2002:5db8:d822::",  # 6to4 of 93.184.216.34
    ],
)
def test_public_addresses_are_allowed(settings, address):
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    assert outbound.address_allowed(address)


def _teredo(client: str, server: str = "65.54.227.120") -> str:
    """A Teredo address (RFC 4380): 2001:0, the server, flags and port, the client's
    IPv4 address XOR 0xffffffff in the last 32 bits."""
    client_bits = int(ipaddress.IPv4Address(client)) ^ 0xFFFFFFFF
    server_bits = int(ipaddress.IPv4Address(server))
    value = (0x20010000 << 96) | (server_bits << 64) | (0x8000 << 48) | (0x63BF << 32)
    return str(ipaddress.IPv6Address(value | client_bits))


EMBEDDINGS: dict[str, Callable[[str], str]] = {
    "mapped": lambda v4: f"::ffff:{v4}",
    "IPv4-compatible": lambda v4: f"::{v4}",
    "NAT64 well-known": lambda v4: f"64:ff9b::{v4}",
    "NAT64 local-use": lambda v4: f"64:ff9b:1::{v4}",
    "6to4": lambda v4: str(
        ipaddress.IPv6Address((0x2002 << 112) | (int(ipaddress.IPv4Address(v4)) << 80))
    ),
    "Teredo": _teredo,
}


@pytest.mark.parametrize("form", EMBEDDINGS)
@pytest.mark.parametrize("v4", ["127.0.0.1", "10.0.0.1", "169.254.169.254"])
def test_ipv4_addresses_embedded_in_ipv6_follow_the_ipv4_rules(settings, form, v4):
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    address = EMBEDDINGS[form](v4)
    assert ipaddress.ip_address(address).version == 6
    assert not outbound.address_allowed(address), address


def test_the_teredo_client_is_the_last_32_bits_inverted():
    # RFC 4380 section 4's example: client 192.0.2.45 behind server 65.54.227.120.
    assert _teredo("192.0.2.45") == "2001:0:4136:e378:8000:63bf:3fff:fdd2"
    teredo = ipaddress.IPv6Address(_teredo("127.0.0.1")).teredo
    assert teredo is not None
    assert teredo[1] == ipaddress.IPv4Address("127.0.0.1")


def test_the_local_use_nat64_prefix_is_refused_whatever_it_embeds(settings):
    # Each network picks where in 64:ff9b:1::/48 its IPv4 addresses go (RFC 6052
    # allows /48 to /96), so no position tells where a packet would land.
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    assert not outbound.address_allowed("64:ff9b:1::5db8:d822")
    assert not outbound.address_allowed("64:ff9b:1:5db8:d8:2200::")
    assert outbound.address_allowed("64:ff9b::5db8:d822")


def test_the_unspecified_and_loopback_ipv6_addresses_stay_refused(settings):
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    assert not outbound.address_allowed("::")
    assert not outbound.address_allowed("::1")
    assert outbound.address_allowed("::93.184.216.34")


def test_private_networks_may_be_allowed(settings):
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = True
    assert outbound.address_allowed("10.0.0.1")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1/",
        "http://example.com/",
        "https:///nohost",
        "http://[::1/",
    ],
)
def test_it_refuses_urls_it_must_never_call(url):
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(url)
    assert excinfo.value.kind == "invalid_url"
    assert str(excinfo.value) == excinfo.value.message
    assert "pw" not in excinfo.value.message


def test_every_failure_is_an_outbound_error_with_its_kind(server):
    closed = server.rsplit(":", 1)[0] + ":1"
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(f"{closed}/ok")
    assert (excinfo.value.kind, excinfo.value.message) == (
        "connection",
        "Could not connect to the remote server.",
    )
    with pytest.raises(OutboundError) as excinfo:  # requests refuses it before any adapter
        outbound.session().get("https://auth.example.com:99999999/")
    assert (excinfo.value.kind, excinfo.value.message) == (
        "connection",
        "The request could not be sent.",
    )


def test_https_is_guarded_at_connect_time_too(server, settings):
    # The server speaks plain http: an unguarded https pool would fail the TLS handshake
    # ("connection"); the guarded one refuses the loopback peer before sending a byte.
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    https = server.replace("http://127.0.0.1", "https://localhost")
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(f"{https}/ok")
    assert excinfo.value.kind == "blocked"


def test_it_sends_what_the_caller_gave(server):
    response = outbound.session().post(
        f"{server}/echo", data={"grant_type": "client_credentials"}, headers={"X-Test": "yes"}
    )
    assert response.json() == {"body": "grant_type=client_credentials", "x-test": "yes"}


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw@auth.example.com/token",
        "https://user@auth.example.com/token",
        "https://:pw@auth.example.com/token",
    ],
)
def test_it_refuses_user_information_on_https_before_any_connection(monkeypatch, url):
    def refuse(*args, **kwargs):
        pytest.fail("the seam tried to connect")

    monkeypatch.setattr(outbound, "transport", refuse)
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(url)
    assert excinfo.value.kind == "invalid_url"
    with pytest.raises(OutboundError):
        outbound.check_url(url)
    assert url_problem(url) == "Must not contain user information."


def test_it_refuses_plain_http_without_the_insecure_setting(server, settings):
    settings.PATCHBAY_ALLOW_INSECURE_HTTP = False
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(f"{server}/ok")
    assert excinfo.value.kind == "invalid_url"


def test_it_caps_the_response_size(server, settings):
    settings.PATCHBAY_HTTP_MAX_RESPONSE_BYTES = 100_000
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(f"{server}/big")
    assert excinfo.value.kind == "too_large"


@pytest.mark.parametrize("size", [40_000, 40_001, 16_384 * 3, 16_384 * 3 + 1])
def test_a_body_of_exactly_the_cap_is_read_whole_and_one_byte_more_is_refused(
    server, settings, size
):
    settings.PATCHBAY_HTTP_MAX_RESPONSE_BYTES = size
    response = outbound.session().get(f"{server}/bytes-{size}")
    assert response.content == b"x" * size
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(f"{server}/bytes-{size + 1}")
    assert excinfo.value.kind == "too_large"


def test_it_times_out_whatever_the_caller_asked_for(server, settings):
    settings.PATCHBAY_HTTP_TIMEOUT = (1.0, 0.3)
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(f"{server}/slow", timeout=60)
    assert excinfo.value.kind == "timeout"


@pytest.mark.parametrize("part", ["headers", "body", "unsized-body"])
def test_a_server_trickling_its_answer_is_cut_off_at_the_deadline(server, settings, refusals, part):
    """Each read arrives within the read timeout; the request as a whole must not last."""
    settings.PATCHBAY_HTTP_TIMEOUT = (0.5, 0.3)
    settings.PATCHBAY_HTTP_DEADLINE = 1.6
    started = time.monotonic()
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(f"{server}/trickle-{part}")
    assert excinfo.value.kind == "timeout"
    assert time.monotonic() - started < 4  # the server would go on for 8 s or more
    refusals.one(INFO, "timeout", "deadline", host="127.0.0.1")


def test_a_caller_may_ask_for_a_shorter_deadline_than_the_general_one(server, settings):
    settings.PATCHBAY_HTTP_TIMEOUT = (0.5, 0.3)
    settings.PATCHBAY_HTTP_DEADLINE = 30.0
    started = time.monotonic()
    with pytest.raises(OutboundError) as excinfo:
        outbound.session(deadline=1.0).get(f"{server}/trickle-body")
    assert excinfo.value.kind == "timeout"
    assert time.monotonic() - started < 4


def test_the_general_deadline_is_twice_the_timeouts_and_the_tenant_ones_shorter():
    from django.conf import settings

    assert settings.PATCHBAY_HTTP_DEADLINE == 2 * sum(settings.PATCHBAY_HTTP_TIMEOUT) == 40
    assert settings.PATCHBAY_HTTP_TOKEN_DEADLINE == 10
    assert settings.PATCHBAY_HTTP_WEBHOOK_DEADLINE == 10


def test_it_ignores_proxies_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://10.255.255.1:3128")
    assert outbound.session().get(f"{server}/ok").status_code == 200


# --- Refusals leave a trace (core.logs.refusal) ----------------------------------------------


# A webhook URL often carries its secret in the path or the query: only the host is logged.
SECRET_PATH = "/hooks/T0-path-secret-4411?token=query-secret-9922"


def _refused(url: str) -> OutboundError:
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(url)
    return excinfo.value


def test_a_blocked_literal_address_is_a_warning_with_host_and_address(settings, refusals):
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    assert _refused(f"https://169.254.169.254{SECRET_PATH}").kind == "blocked"
    record = refusals.one(WARNING, "blocked", host="169.254.169.254", address="169.254.169.254")
    assert record.name == "core.outbound"
    refusals.none_hold("T0-path-secret-4411", "query-secret-9922")


def test_a_name_resolving_to_a_blocked_address_is_a_warning(server, settings, refusals):
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    url = server.replace("127.0.0.1", "localhost") + SECRET_PATH
    assert _refused(url).kind == "blocked"
    refusals.one(WARNING, "blocked", host="localhost", address="127.0.0.1")
    refusals.none_hold("T0-path-secret-4411", "query-secret-9922")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://user:pw-secret-5e5e@auth.example.com/token", "userinfo"),
        ("ftp://auth.example.com/x", "scheme"),
        ("http://auth.example.com/x", "insecure_http"),
        ("https://[auth.example.com/x", "malformed"),
    ],
)
def test_a_url_never_called_is_a_warning(refusals, url, reason):
    assert _refused(url).kind == "invalid_url"
    record = refusals.one(WARNING, "invalid_url", reason)
    assert record.refusal_ids.get("host") == (None if reason == "malformed" else "auth.example.com")
    refusals.none_hold("pw-secret-5e5e")


def test_an_oversized_answer_is_a_warning(server, settings, refusals):
    settings.PATCHBAY_HTTP_MAX_RESPONSE_BYTES = 1000
    assert _refused(f"{server}/bytes-5000?token=query-secret-9922").kind == "too_large"
    refusals.one(WARNING, "too_large", host="127.0.0.1")
    refusals.none_hold("query-secret-9922")


def test_a_timeout_is_info(server, settings, refusals):
    settings.PATCHBAY_HTTP_TIMEOUT = (1.0, 0.3)
    assert _refused(f"{server}/slow?token=query-secret-9922").kind == "timeout"
    refusals.one(INFO, "timeout", host="127.0.0.1")
    refusals.none_hold("query-secret-9922")


def test_a_good_call_leaves_no_refusal(server, refusals):
    assert outbound.session().get(f"{server}/ok").status_code == 200
    assert refusals.records == []
