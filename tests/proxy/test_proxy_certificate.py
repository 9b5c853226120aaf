"""The `certificate` scheme in the proxy (SPEC §9.1): mTLS to the upstream, against a TLS
server on loopback that demands a client certificate signed by a CA made in the test and
refuses the handshake without one; the credential's `ca` is the only trust anchor."""

from __future__ import annotations

import json
import logging
import time

import pytest

from connections.models import ConnectionCredential
from connectors.models import AuthSchemeConfig, Connector
from credentials.models import Credential
from tests.connections import factories as f
from tests.tls import Authority, json_answer, tls_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def pki():
    return {
        "server": Authority("Upstream server CA"),
        "client": Authority("Upstream client CA"),
        "other": Authority("Another CA"),
    }


def echo(seen, body):
    answer = {"client": seen.client, "path": seen.path, "key": seen.headers.get("x-api-key")}
    return json_answer(200, json.dumps(answer).encode())


@pytest.fixture
def upstream(pki):
    with tls_server(pki["server"], pki["client"], app=echo) as tls:
        yield tls


def certificate(actor, pki, *, issuer="client", ca="server"):
    issued = pki[issuer].issue("patchbay-client")
    return Credential.objects.create(
        organisation=actor.organisation,
        name="mTLS",
        type="certificate",
        data={
            "certificate": issued.certificate,
            "key": issued.key,
            "ca": pki[ca].pem if ca else "",
        },
    ), issued


def mtls_connection(actor, url, cert, *, api_key=None):
    connector = Connector.objects.create(organisation=actor.organisation, name="Bank", base_url=url)
    mtls = f.config_of_type(connector, "certificate", "mtls")
    links = [(mtls, cert)]
    if api_key is not None:
        key_config = AuthSchemeConfig.objects.create(
            organisation=actor.organisation,
            connector=connector,
            config_id="key",
            type="api-key",
            settings={"name": "X-Api-Key", "in": "header"},
        )
        key = Credential.objects.create(
            organisation=actor.organisation, name="k", type="string", data={"value": api_key}
        )
        links.append((key_config, key))
    return f.connection(actor.organisation, connector, links=links)


def proxy(actor, connection, path="v1/accounts"):
    return actor.client.get(actor.url(f"connections/{connection.pk}/proxy/{path}"))


def test_it_presents_the_client_certificate_to_the_upstream(alice, pki, upstream, caplog):
    caplog.set_level(logging.DEBUG)
    cert, issued = certificate(alice, pki)
    connection = mtls_connection(alice, upstream.url + "/", cert, api_key="key-after-mtls")
    response = proxy(alice, connection)
    assert response.status_code == 200, response.content
    assert response["Patchbay-Proxy"] == "upstream"
    body = json.loads(
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    # Both credentials, in order: the TLS identity, then the key.
    assert body == {"client": "patchbay-client", "path": "/v1/accounts", "key": "key-after-mtls"}
    assert upstream.refused == []
    key_body = issued.key.splitlines()[1]
    assert key_body not in caplog.text


def test_the_upstream_refuses_a_connection_without_a_certificate(alice, pki, upstream):
    connector = Connector.objects.create(
        organisation=alice.organisation, name="Bank", base_url=upstream.url + "/"
    )
    connection = f.connection(alice.organisation, connector, links=[])
    response = proxy(alice, connection)
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_unreachable"
    assert "Patchbay-Proxy" not in response
    assert upstream.seen == []


def test_a_certificate_another_ca_signed_is_refused_by_the_upstream(alice, pki, upstream):
    cert, _ = certificate(alice, pki, issuer="other")
    response = proxy(alice, mtls_connection(alice, upstream.url + "/", cert))
    assert response.status_code == 502
    assert upstream.seen == []
    # The server thread records its refusal after the handshake fails on the client's
    # side: give it a moment rather than race it.
    deadline = time.monotonic() + 5
    while not upstream.refused and time.monotonic() < deadline:
        time.sleep(0.02)
    assert upstream.refused


def test_the_credentials_ca_is_the_only_trust_anchor(alice, pki, upstream):
    cert, _ = certificate(alice, pki, ca="other")
    response = proxy(alice, mtls_connection(alice, upstream.url + "/", cert))
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_unreachable"
    assert upstream.seen == []


def test_an_unusable_certificate_is_refused_without_the_pem(alice, pki, upstream):
    cert, _issued = certificate(alice, pki)
    cert.data = {**cert.data, "key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}
    cert.save()
    response = proxy(alice, mtls_connection(alice, upstream.url + "/", cert))
    assert response.status_code == 409
    assert response.json() == {
        "code": "credential_unusable",
        "message": "The certificate credential's certificate or key is not usable.",
    }
    assert "Patchbay-Proxy" not in response
    assert upstream.seen == []


def test_a_certificate_is_never_sent_over_plain_http(alice, pki):
    cert, _ = certificate(alice, pki)
    response = proxy(alice, mtls_connection(alice, "http://127.0.0.1:9/", cert))
    assert response.status_code == 409
    assert response.json()["code"] == "credential_unusable"
    assert "only sent over https" in response.json()["message"]


def test_a_certificate_credential_without_a_key_is_unusable(alice, pki, upstream):
    cert, _ = certificate(alice, pki)
    cert.data = {"certificate": cert.data["certificate"]}
    cert.save()
    response = proxy(alice, mtls_connection(alice, upstream.url + "/", cert))
    assert response.status_code == 409
    assert response.json()["code"] == "credential_unusable"
    assert upstream.seen == []


def test_two_certificates_on_one_connection_are_refused(alice, pki, upstream):
    first, _ = certificate(alice, pki)
    second, _ = certificate(alice, pki)
    connection = mtls_connection(alice, upstream.url + "/", first)
    config = connection.connection_credentials.get().auth_scheme_config
    ConnectionCredential.objects.create(
        connection=connection, auth_scheme_config=config, credential=second, position=1
    )
    response = proxy(alice, connection)
    assert response.status_code == 409
    assert "already has a client certificate" in response.json()["message"]
    assert upstream.seen == []


def test_verification_goes_over_mtls_too(alice, pki, upstream):
    cert, _ = certificate(alice, pki)
    connection = mtls_connection(alice, upstream.url + "/", cert)
    config = connection.connection_credentials.get().auth_scheme_config
    config.verification = {"method": "GET", "path": "/v1/me", "expectedStatus": []}
    config.save()
    response = alice.client.post(alice.url(f"connections/{connection.pk}/verify"))
    assert response.status_code == 200, response.json()
    assert response.json()["valid"] is True
    assert [s.client for s in upstream.seen] == ["patchbay-client"]
    cert.refresh_from_db()
    assert cert.errors == []
