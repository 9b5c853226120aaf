"""Hostile input to the proxy: paths that climb, headers that smuggle, upstreams that misbehave."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from core.outbound import OutboundError
from tests.proxy.conftest import Reply, api_key_connection, proxy_url

TRAVERSALS = [
    "..",
    "../admin",
    "a/../../admin",
    "a/./b",
    "%2e%2e/admin",
    "%2E%2E/admin",
    ".%2e/admin",
    "..%2fadmin",
    "a/..%2f..%2fadmin",
    "%252e%252e/admin",  # encoded twice
    "a%252f..%252f..%252fadmin",
    "%25252e%25252e/admin",
    "//evil.example/x",
    "http://evil.example/x",
    "file:/etc/passwd",
    "https:%2f%2fevil.example/x",
    "@evil.example/x",
    "x@evil.example",
    "a\\..\\admin",
    "a%5c..%5cadmin",
    "a%255c..",
    "a%00b",
    "a%0d%0aHost:%20evil",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_paths_that_climb_or_leave_the_base_are_refused(alice, upstream, path):
    connection, _key = api_key_connection(alice, upstream.url + "/v1")
    response = alice.client.get(proxy_url(alice, connection, path))
    assert response.status_code in (400, 404), path
    if response.status_code == 400:
        assert response.json()["code"] == "invalid_path"
        assert "Patchbay-Proxy" not in response
    assert upstream.seen == []


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        ("a%3Fb", "/v1/a%3Fb"),  # a '?' in a segment stays in the segment
        ("a%23b", "/v1/a%23b"),
        ("group%252Fproject/files", "/v1/group%2Fproject/files"),  # an id with a '/' in it
        ("caf%C3%A9", "/v1/caf%C3%A9"),
        ("a%20b", "/v1/a%20b"),
        ("v..1/x.y", "/v1/v..1/x.y"),
        ("files:upload", "/v1/files:upload"),  # Google-style custom methods
        ("mailto:x", "/v1/mailto:x"),  # a scheme without "//" names no host
    ],
)
def test_harmless_paths_arrive_encoded_as_the_caller_meant(alice, upstream, path, sent):
    connection, _key = api_key_connection(alice, upstream.url + "/v1")
    response = alice.client.get(proxy_url(alice, connection, path))
    assert response.status_code == 200
    assert upstream.last.path == sent


def test_the_callers_identity_headers_never_reach_the_upstream(alice, upstream):
    connection, key = api_key_connection(alice, upstream.url)
    response = alice.client.get(
        proxy_url(alice, connection, "a"),
        HTTP_HOST="testserver",
        HTTP_COOKIE="sessionid=caller",
        HTTP_X_FORWARDED_FOR="10.0.0.1",
        HTTP_X_FORWARDED_HOST="evil.example",
        HTTP_FORWARDED="for=10.0.0.1",
        HTTP_X_REAL_IP="10.0.0.1",
        HTTP_PROXY_AUTHORIZATION="Basic eDp5",
        HTTP_PATCHBAY_DEBUG="1",
        HTTP_CONNECTION="close, X-Secret-Hop",
        HTTP_X_SECRET_HOP="hop",
        HTTP_TE="trailers",
        HTTP_UPGRADE="websocket",
        HTTP_ACCEPT="application/xml",
        HTTP_X_CUSTOM="kept",
    )
    assert response.status_code == 200
    seen = upstream.last
    assert seen.header("Host") == upstream.url.removeprefix("http://")
    assert seen.header("Authorization") is None  # the caller's API key stays with Patchbay
    assert alice.key not in str(seen.headers)
    for dropped in (
        "cookie",
        "x-forwarded-for",
        "x-forwarded-host",
        "forwarded",
        "x-real-ip",
        "proxy-authorization",
        "patchbay-debug",
        "x-secret-hop",
        "te",
        "upgrade",
    ):
        assert dropped not in seen.names(), dropped
    assert seen.header("Accept") == "application/xml"
    assert seen.header("X-Custom") == "kept"
    assert seen.header("X-Api-Key") == key


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b", "a\x7fb"])
def test_header_values_with_control_characters_are_refused(alice, upstream, value):
    connection, _key = api_key_connection(alice, upstream.url)
    response = alice.client.get(proxy_url(alice, connection, "a"), HTTP_X_EVIL=value)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_header"
    assert upstream.seen == []


def test_a_transfer_encoding_from_the_caller_is_refused(alice, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    response = alice.client.post(
        proxy_url(alice, connection, "a"),
        b"0\r\n\r\n",
        content_type="text/plain",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_header")
    assert upstream.seen == []


def _raw(live_server, request: bytes) -> bytes:
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.django_db(transaction=True)
def test_length_games_on_the_wire_never_reach_the_upstream(alice, upstream, live_server):
    connection, _key = api_key_connection(alice, upstream.url)
    path = proxy_url(alice, connection, "a").encode()
    auth = f"Authorization: Bearer {alice.key}\r\n".encode()
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    # Two Content-Lengths: the server reads the first; whatever is left is not a request to us.
    body = b"hello" + smuggled
    _raw(
        live_server,
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: localhost\r\n"
        + auth
        + b"Content-Type: text/plain\r\nContent-Length: 5\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body,
    )
    # Transfer-Encoding beside a Content-Length: refused outright.
    answer = _raw(
        live_server,
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: localhost\r\n"
        + auth
        + b"Content-Length: 40\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + b"0\r\n\r\n"
        + smuggled,
    )
    assert b"invalid_header" in answer
    assert [s.path for s in upstream.seen] in ([], ["/a"])
    for seen in upstream.seen:
        assert seen.header("Content-Length") == str(len(seen.body))
        assert b"smuggled" not in seen.body or seen.body == body
        assert "transfer-encoding" not in seen.names()


@pytest.mark.parametrize(
    "location", ["http://127.0.0.1:1/internal", "https://other.example/x", "/v1/elsewhere"]
)
def test_upstream_redirects_are_passed_back_never_followed(alice, upstream, location):
    connection, _key = api_key_connection(alice, upstream.url + "/v1")
    upstream.reply(lambda seen: Reply(302, headers=[("Location", location)], body=b""))
    response = alice.client.get(proxy_url(alice, connection, "a"))
    assert response.status_code == 302
    assert response["Location"] == location
    assert response["Patchbay-Proxy"] == "upstream"
    assert len(upstream.seen) == 1


def test_upstream_set_cookie_and_patchbay_headers_are_not_passed_back(alice, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    upstream.reply(
        lambda seen: Reply(
            200,
            headers=[
                ("Set-Cookie", "upstream=1; Path=/"),
                ("Patchbay-Proxy", "forged"),
                ("Keep-Alive", "timeout=5"),
                ("X-Ok", "1"),
            ],
        )
    )
    response = alice.client.get(proxy_url(alice, connection, "a"))
    assert "Set-Cookie" not in response
    assert not response.cookies
    assert response["Patchbay-Proxy"] == "upstream"
    assert "Keep-Alive" not in response
    assert response["X-Ok"] == "1"


def test_the_ssrf_guard_holds_for_a_connection_base_url(alice, upstream, settings, refusals):
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    for base in (upstream.url, upstream.url.replace("127.0.0.1", "localhost")):
        connection, _key = api_key_connection(alice, base, name="X-K")
        connection.connector.name = base
        response = alice.client.get(proxy_url(alice, connection, "a"))
        assert response.status_code == 502
        assert response.json() == {
            "code": "upstream_unreachable",
            "message": "The upstream could not be reached.",
        }
        connection.delete()
        connection.connector.delete()
    assert upstream.seen == []
    assert any(r.refusal == "blocked" for r in refusals.records)


def test_a_closed_port_reads_exactly_like_a_blocked_address(alice):
    connection, _key = api_key_connection(alice, "http://127.0.0.1:1")
    response = alice.client.get(proxy_url(alice, connection, "a"))
    assert response.json() == {
        "code": "upstream_unreachable",
        "message": "The upstream could not be reached.",
    }


def test_an_upstream_that_never_answers_is_cut_at_the_deadline(alice, settings):
    settings.PATCHBAY_PROXY_DEADLINE_SECONDS = 1.0
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        connection, _key = api_key_connection(alice, f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        response = alice.client.get(proxy_url(alice, connection, "a"))
        elapsed = time.monotonic() - started
    assert (response.status_code, response.json()["code"]) == (504, "upstream_timeout")
    assert "Patchbay-Proxy" not in response
    assert elapsed < 3


def _trickler(headers_done: bool) -> tuple[socket.socket, threading.Event]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def run() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        if headers_done:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.1):
            try:
                conn.sendall(b"x" if headers_done else b"X-A: b\r\n")
            except OSError:
                break
        conn.close()

    threading.Thread(target=run, daemon=True).start()
    return server, stop


def test_an_upstream_trickling_its_headers_is_cut_at_the_deadline(alice, settings):
    settings.PATCHBAY_PROXY_DEADLINE_SECONDS = 1.0
    server, stop = _trickler(headers_done=False)
    try:
        connection, _key = api_key_connection(alice, f"http://127.0.0.1:{server.getsockname()[1]}")
        started = time.monotonic()
        response = alice.client.get(proxy_url(alice, connection, "a"))
        assert time.monotonic() - started < 3
    finally:
        stop.set()
        server.close()
    assert (response.status_code, response.json()["code"]) == (504, "upstream_timeout")


def test_an_upstream_trickling_its_body_is_cut_at_the_deadline(alice, settings):
    settings.PATCHBAY_PROXY_DEADLINE_SECONDS = 1.0
    server, stop = _trickler(headers_done=True)
    try:
        connection, _key = api_key_connection(alice, f"http://127.0.0.1:{server.getsockname()[1]}")
        started = time.monotonic()
        response = alice.client.get(proxy_url(alice, connection, "a"))
        assert response.status_code == 200
        assert response["Content-Length"] == "1000"
        with pytest.raises(OutboundError) as cut:
            b"".join(response.streaming_content)
        assert cut.value.kind == "timeout"
        assert time.monotonic() - started < 3
    finally:
        stop.set()
        server.close()


def test_an_upstream_500_is_passed_through_but_its_body_is_never_logged(alice, upstream, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "sk_live_" + "Z" * 24
    connection, key = api_key_connection(alice, upstream.url)
    upstream.reply(
        lambda seen: Reply(
            500, headers=[("Content-Type", "text/plain")], body=f"boom {secret}".encode()
        )
    )
    response = alice.client.get(proxy_url(alice, connection, "a"))
    assert response.status_code == 500
    assert response["Patchbay-Proxy"] == "upstream"
    assert b"".join(response.streaming_content) == f"boom {secret}".encode()
    assert secret not in caplog.text
    assert key not in caplog.text
    assert any("outcome=500" in r.getMessage() for r in caplog.records)


def test_a_body_over_the_limit_is_413_and_never_sent(alice, upstream, settings):
    settings.PATCHBAY_PROXY_MAX_BODY_BYTES = 1000
    connection, _key = api_key_connection(alice, upstream.url)
    response = alice.client.post(
        proxy_url(alice, connection, "a"), b"x" * 1001, content_type="text/plain"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    response = alice.client.post(
        proxy_url(alice, connection, "a"), b"x" * 1000, content_type="text/plain"
    )
    assert response.status_code == 200
    assert upstream.last.body == b"x" * 1000
    assert len(upstream.seen) == 1


def test_a_body_over_the_general_api_limit_passes_the_proxy(alice, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    body = b"y" * 200_000  # over the 64 KiB of the rest of the API
    response = alice.client.put(
        proxy_url(alice, connection, "a"), body, content_type="application/octet-stream"
    )
    assert response.status_code == 200
    assert upstream.last.body == body


def test_a_declared_answer_over_the_limit_is_502_in_the_error_shape(alice, upstream, settings):
    settings.PATCHBAY_PROXY_MAX_RESPONSE_BYTES = 1000
    connection, _key = api_key_connection(alice, upstream.url)
    upstream.reply(lambda seen: Reply(200, body=b"z" * 1001))
    response = alice.client.get(proxy_url(alice, connection, "a"))
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_response_too_large"
    assert "1000 bytes" in response.json()["message"]
    assert "Patchbay-Proxy" not in response


def test_an_undeclared_answer_over_the_limit_is_cut_with_a_clear_error(
    alice, upstream, settings, refusals
):
    settings.PATCHBAY_PROXY_MAX_RESPONSE_BYTES = 100_000
    connection, _key = api_key_connection(alice, upstream.url)
    upstream.reply(lambda seen: Reply(200, body=iter([b"z" * 60_000] * 3)))
    response = alice.client.get(proxy_url(alice, connection, "a"))
    assert response.status_code == 200
    received = bytearray()

    def drain() -> None:
        for chunk in response.streaming_content:
            received.extend(chunk)

    with pytest.raises(OutboundError) as cut:
        drain()
    assert cut.value.kind == "too_large"
    assert "100000 bytes" in cut.value.message
    assert len(received) <= 100_000
    refusals.one(logging.WARNING, "too_large", host="127.0.0.1")
