"""The streaming seam presents a client certificate (mTLS) as the buffered one does: the
proxy's one outbound call can take the TLS identity a certificate applier gives it."""

from __future__ import annotations

import pytest

from core.client_tls import ClientCertificate
from core.outbound import OutboundError
from core.outbound_stream import stream
from tests.tls import Authority, json_answer, tls_server


@pytest.fixture(scope="module")
def pki():
    return {"server": Authority("Stream server CA"), "client": Authority("Stream client CA")}


def _certificate(pki) -> ClientCertificate:
    issued = pki["client"].issue("patchbay-proxy")
    return ClientCertificate(
        certificate=issued.certificate, key=issued.key, ca=pki["server"].pem, credential_id="c1"
    )


def test_a_streamed_request_presents_the_client_certificate(pki):
    with tls_server(
        pki["server"], pki["client"], app=lambda s, b: json_answer(200, b'{"ok": 1}')
    ) as tls:
        answer = stream(
            "GET",
            f"{tls.url}/x",
            headers={},
            limit=1000,
            deadline_seconds=5,
            client_certificate=_certificate(pki),
        )
        assert (answer.status, answer.read()) == (200, b'{"ok": 1}')
        assert [s.client for s in tls.seen] == ["patchbay-proxy"]


def test_without_it_the_handshake_fails_and_nothing_is_served(pki):
    with tls_server(pki["server"], pki["client"], app=lambda s, b: json_answer(200, b"{}")) as tls:
        with pytest.raises(OutboundError) as refused:
            stream("GET", f"{tls.url}/x", headers={}, limit=1000, deadline_seconds=5)
        assert refused.value.kind == "connection"
        assert tls.seen == []
