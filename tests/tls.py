"""Real TLS on loopback for mTLS tests: certificate authorities made in the test with
``cryptography``, and an https server that demands a client certificate signed by its
client CA and refuses the handshake without one.

The server checks the client certificate with OpenSSL, independently of Patchbay's code,
and records what each request presented. It either answers requests itself (``app``)
or forwards them to another server (``upstream``, e.g. the suite's django-oauth-toolkit
live server), so a real authorization server can sit behind mutual TLS.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_DAY = datetime.timedelta(days=1)


def _pem_key(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


@dataclass
class Issued:
    """A certificate and its key, as PEM text (what a `certificate` credential holds)."""

    certificate: str
    key: str
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    def encrypted_key(self, password: bytes) -> str:
        return _pem_key(self.private_key, password)


class Authority:
    """A certificate authority of the test's own."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _DAY)
            .not_valid_after(now + 30 * _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, common_name: str, *, server: bool = False) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _DAY)
            .not_valid_after(now + 7 * _DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(
            certificate=cert.public_bytes(serialization.Encoding.PEM).decode(),
            key=_pem_key(key),
            private_key=key,
        )


@dataclass
class Seen:
    """One request the TLS server answered, with the client certificate it presented."""

    client: str  # the client certificate's common name
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]


Answer = tuple[int, dict[str, str], bytes]


class _Handler(BaseHTTPRequestHandler):
    server: _TlsHTTPServer

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        peer: Any = self.connection.getpeercert() or {}
        subject = dict(item[0] for item in peer.get("subject", ()))
        seen = Seen(
            client=str(subject.get("commonName", "")),
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            form=parse_qs(body.decode(errors="replace")),
        )
        self.server.tls.seen.append(seen)
        status, headers, payload = self.server.tls.answer(seen, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


class _TlsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    tls: TlsServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake runs in the request's thread, so a refused one blocks no one.
        try:
            wrapped = self.tls.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.tls.refused.append(type(exc).__name__ + ": " + str(exc))
            return
        try:
            self.RequestHandlerClass(wrapped, client_address, self)  # type: ignore[arg-type]
        finally:
            wrapped.close()


@dataclass
class TlsServer:
    """An https server on 127.0.0.1 whose certificate ``server_ca`` signed, that requires a
    client certificate signed by ``client_ca``."""

    server_ca: Authority
    client_ca: Authority
    app: Callable[[Seen, bytes], Answer] | None = None
    upstream: str | None = None
    seen: list[Seen] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        issued = self.server_ca.issue("localhost", server=True)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.load_verify_locations(cadata=self.client_ca.pem)
        _load_chain(self.context, issued)

    def answer(self, seen: Seen, body: bytes) -> Answer:
        if self.app is not None:
            return self.app(seen, body)
        assert self.upstream is not None
        headers = {
            k: v
            for k, v in seen.headers.items()
            if k not in ("host", "content-length", "connection")
        }
        response = requests.request(
            seen.method,
            self.upstream + seen.path,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=10,
        )
        kept = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection")
        }
        return response.status_code, kept, response.content


def _load_chain(context: ssl.SSLContext, issued: Issued) -> None:
    # The test server's own key: a file in a private temporary directory is fine here.
    directory = tempfile.mkdtemp(prefix="tests-tls-server-")
    try:
        path = os.path.join(directory, "server.pem")
        with open(path, "w") as handle:
            handle.write(issued.certificate + issued.key)
        context.load_cert_chain(path)
    finally:
        os.remove(path)
        os.rmdir(directory)


@contextmanager
def tls_server(
    server_ca: Authority,
    client_ca: Authority,
    *,
    app: Callable[[Seen, bytes], Answer] | None = None,
    upstream: str | None = None,
) -> Iterator[TlsServer]:
    tls = TlsServer(server_ca=server_ca, client_ca=client_ca, app=app, upstream=upstream)
    httpd = _TlsHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.tls = tls
    tls.url = f"https://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield tls
    finally:
        httpd.shutdown()
        httpd.server_close()


def json_answer(status: int, body: bytes) -> Answer:
    return status, {"Content-Type": "application/json"}, body
