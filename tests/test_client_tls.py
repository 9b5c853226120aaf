"""mTLS in the outbound seam (core.client_tls): a real TLS server on loopback that demands a
client certificate signed by a CA made in the test, and refuses the handshake without one."""

from __future__ import annotations

import os
import stat
import tempfile
import time

import pytest

from core import client_tls, outbound
from core.client_tls import ClientCertificate, client_context
from core.outbound import OutboundError
from tests.tls import Authority, json_answer, tls_server


@pytest.fixture(scope="module")
def pki():
    return {
        "server_ca": Authority("Test server CA"),
        "client_ca": Authority("Test client CA"),
        "other_ca": Authority("Someone else's CA"),
    }


def ok(seen, body):
    return json_answer(200, b'{"ok": true}')


@pytest.fixture
def server(pki):
    with tls_server(pki["server_ca"], pki["client_ca"], app=ok) as tls:
        yield tls


def certificate(pki, *, issuer="client_ca", ca="server_ca", name="patchbay-client"):
    issued = pki[issuer].issue(name)
    return ClientCertificate(
        certificate=issued.certificate,
        key=issued.key,
        ca=pki[ca].pem if ca else "",
        credential_id="cred-1",
    )


def test_it_presents_the_client_certificate(pki, server):
    response = outbound.session(client_certificate=certificate(pki)).get(f"{server.url}/ok")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert [s.client for s in server.seen] == ["patchbay-client"]
    assert server.refused == []


def test_the_server_refuses_a_request_without_a_client_certificate(pki, server):
    # Trusting the server is not enough: without a certificate the handshake is refused.
    cafile = os.path.join(tempfile.mkdtemp(), "ca.pem")
    with open(cafile, "w") as handle:
        handle.write(pki["server_ca"].pem)
    with pytest.raises(OutboundError) as excinfo:
        outbound.session().get(f"{server.url}/ok", verify=cafile)
    assert excinfo.value.kind == "connection"
    assert server.seen == []
    assert len(server.refused) == 1


def test_the_server_refuses_a_certificate_another_ca_signed(pki, server):
    with pytest.raises(OutboundError) as excinfo:
        outbound.session(client_certificate=certificate(pki, issuer="other_ca")).get(
            f"{server.url}/ok"
        )
    assert excinfo.value.kind == "connection"
    assert server.seen == []
    deadline = time.monotonic() + 5  # the server thread records its refusal a moment later
    while not server.refused and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.refused


def test_the_credentials_ca_is_the_only_trust_anchor(pki, server):
    # The server's certificate chains to server_ca; a credential trusting only other_ca
    # must refuse it, whatever else the machine trusts.
    with pytest.raises(OutboundError) as excinfo:
        outbound.session(client_certificate=certificate(pki, ca="other_ca")).get(f"{server.url}/ok")
    assert (excinfo.value.kind, excinfo.value.message) == (
        "connection",
        "The TLS handshake with the remote server failed.",
    )
    assert server.seen == []


def test_urllib3_adds_no_other_ca_to_the_context(pki, server):
    http = outbound.session(client_certificate=certificate(pki))
    assert http.get(f"{server.url}/ok").status_code == 200
    adapter = http.get_adapter(server.url)
    context = adapter._client_context  # type: ignore[attr-defined]
    # requests would have urllib3 load certifi's bundle into the context: it must not.
    anchors = context.get_ca_certs()
    assert len(anchors) == 1
    assert dict(item[0] for item in anchors[0]["subject"])["commonName"] == "Test server CA"


def test_without_a_ca_the_test_servers_certificate_is_not_trusted(pki, server):
    with pytest.raises(OutboundError) as excinfo:
        outbound.session(client_certificate=certificate(pki, ca=None)).get(f"{server.url}/ok")
    assert excinfo.value.kind == "connection"
    assert server.seen == []


def test_a_client_certificate_is_never_sent_over_plain_http(pki, refusals):
    with pytest.raises(OutboundError) as excinfo:
        outbound.session(client_certificate=certificate(pki)).get("http://127.0.0.1:9/token")
    assert excinfo.value.kind == "invalid_url"
    refusals.one(30, "invalid_url", "mtls_without_https")


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"certificate": "not a certificate"}, "certificate or key is not usable"),
        ({"key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}, "not usable"),
        ({"ca": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}, "ca is not"),
    ],
)
def test_an_unusable_credential_is_a_clear_error_without_the_pem(
    pki, server, broken, message, refusals
):
    good = certificate(pki)
    bad = ClientCertificate(**{**good.__dict__, **broken})
    with pytest.raises(OutboundError) as excinfo:
        outbound.session(client_certificate=bad).get(f"{server.url}/ok")
    assert excinfo.value.kind == "client_certificate"
    assert message in excinfo.value.message
    assert "BEGIN" not in excinfo.value.message
    assert server.seen == []
    refusals.one(30, "client_certificate", credential_id="cred-1")
    refusals.none_hold(good.key.splitlines()[1])


def test_a_key_that_is_not_the_certificates_is_refused(pki, server):
    one, other = certificate(pki), certificate(pki, name="someone-else")
    mixed = ClientCertificate(certificate=one.certificate, key=other.key, ca=one.ca)
    with pytest.raises(OutboundError) as excinfo:
        outbound.session(client_certificate=mixed).get(f"{server.url}/ok")
    assert excinfo.value.kind == "client_certificate"


def test_an_encrypted_key_is_refused_without_asking_a_terminal(pki, server):
    issued = pki["client_ca"].issue("patchbay-client")
    encrypted = ClientCertificate(
        certificate=issued.certificate, key=issued.encrypted_key(b"pass"), ca=pki["server_ca"].pem
    )
    with pytest.raises(OutboundError) as excinfo:
        outbound.session(client_certificate=encrypted).get(f"{server.url}/ok")
    assert excinfo.value.kind == "client_certificate"
    assert "encrypted" in excinfo.value.message


def test_repr_hides_the_key(pki):
    cert = certificate(pki)
    assert cert.key not in repr(cert)
    assert "PRIVATE KEY" not in repr(cert)


# --- Where the key is while OpenSSL reads it ------------------------------------------------


def _files_holding(secret: str) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(tempfile.gettempdir()):
        for name in files:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)  # a FIFO (another program's) would block the open
                if not stat.S_ISREG(info.st_mode) or info.st_size > 64 * 1024 * 1024:
                    continue
                with open(path, "rb") as handle:
                    if secret.encode() in handle.read():
                        found.append(path)
            except OSError:
                continue
    return found


def test_the_key_lives_in_an_anonymous_memory_file(pki):
    key_line = certificate(pki).key.splitlines()[1]
    with client_tls._key_file(b"pem with " + key_line.encode()) as name:
        assert name.startswith("/proc/self/fd/")
        target = os.readlink(name)
        assert target.startswith("/memfd:patchbay-client-certificate")  # in no directory
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o600
        assert _files_holding(key_line) == []
    with pytest.raises(FileNotFoundError):
        os.stat(name)


def test_without_memfd_the_key_file_is_owner_only_and_removed_at_once(pki, monkeypatch):
    monkeypatch.setattr(client_tls, "USE_MEMFD", False)
    with client_tls._key_file(b"secret pem") as name:
        directory = os.path.dirname(name)
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o600
    assert not os.path.exists(directory)


def test_without_memfd_a_request_works_and_leaves_no_key_behind(pki, server, monkeypatch):
    monkeypatch.setattr(client_tls, "USE_MEMFD", False)
    cert = certificate(pki)
    response = outbound.session(client_certificate=cert).get(f"{server.url}/ok")
    assert response.status_code == 200
    assert _files_holding(cert.key.splitlines()[1]) == []


def test_a_request_leaves_no_key_on_disk(pki, server):
    cert = certificate(pki)
    assert outbound.session(client_certificate=cert).get(f"{server.url}/ok").status_code == 200
    assert _files_holding(cert.key.splitlines()[1]) == []


def test_the_context_checks_the_servers_name(pki):
    context = client_context(certificate(pki))
    assert context.check_hostname is True
    assert context.minimum_version.name in ("TLSv1_2", "TLSv1_3")
