"""mTLS at token endpoints (SPEC §9.3, RFC 8705), against servers that check the client
certificate with OpenSSL: the suite's real authorization server (django-oauth-toolkit)
behind a TLS front that demands a certificate signed by the test's client CA, and a small
token endpoint of the test's own for ``tls_client_auth`` (which the toolkit lacks)."""

from __future__ import annotations

import json
import logging
import secrets

import pytest
import requests
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from connections.models import Connection
from credentials.models import Credential
from tests.connections import factories as f
from tests.lifecycle.conftest import age, authorise, get_token, token_of
from tests.tls import Authority, Seen, json_answer, tls_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quiet_provider(caplog):
    caplog.set_level(logging.INFO, logger="oauth2_provider")
    caplog.set_level(logging.INFO, logger="urllib3")


@pytest.fixture(scope="module")
def pki():
    return {"server": Authority("Token endpoint CA"), "client": Authority("Client CA")}


@pytest.fixture
def certificate(alice, pki):
    """Alice's `certificate` credential, made through the API: her client certificate and
    key, and the token endpoint's CA as the only one to trust."""
    issued = pki["client"].issue("patchbay-client")
    response = alice.client.post(
        alice.url("credentials"),
        {
            "name": "mTLS client",
            "type": "certificate",
            "data": {
                "certificate": {
                    "certificate": issued.certificate,
                    "key": issued.key,
                    "ca": pki["server"].pem,
                }
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert issued.key not in response.content.decode()
    return Credential.objects.get(pk=response.json()["id"]), issued


@pytest.fixture
def front(pki, provider):
    """django-oauth-toolkit behind mutual TLS."""
    with tls_server(pki["server"], pki["client"], upstream=provider.base_url) as tls:
        yield tls


def key_lines(issued) -> list[str]:
    return [line for line in issued.key.splitlines() if "PRIVATE KEY" not in line]


def test_code_exchange_refresh_and_revocation_go_over_mtls(
    alice, provider, front, certificate, assert_no_secrets
):
    cert, issued = certificate
    client = f.client_credential(
        alice.organisation,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_url=f"{front.url}/demo/provider/token/",
    )
    connector, _config = f.oauth2_connector(
        alice.organisation,
        authorizeUrl=provider.authorize_url,
        tokenUrl=f"{front.url}/demo/provider/token/",
        revokeUrl=f"{front.url}/demo/provider/revoke_token/",
        refreshMarginSeconds=60,
        mtlsEnabled=True,
        mtlsCredentialId=str(cert.pk),
        grant={
            "type": "authorizationCode",
            "authorizationCode": {
                "credentialId": str(client.pk),
                "organisationId": alice.org_id,
                "clientId": provider.client_id,
            },
        },
    )
    connection = authorise(alice, provider, connector, client)
    assert connection is not None
    assert connection.status == "active"
    first = token_of(connection).data
    assert provider.me(first["accessToken"]).status_code == 200
    exchange = front.seen[0]
    assert (exchange.client, exchange.form["grant_type"]) == (
        "patchbay-client",
        ["authorization_code"],
    )
    assert exchange.headers["authorization"].startswith("Basic ")  # the secret too

    age(connection)
    refreshed = get_token(alice, connection)
    assert refreshed.status_code == 200, refreshed.json()
    assert refreshed.json()["accessToken"] != first["accessToken"]
    assert front.seen[1].form["grant_type"] == ["refresh_token"]
    assert front.seen[1].client == "patchbay-client"

    latest = token_of(connection).data
    assert alice.client.delete(alice.url(f"connections/{connection.pk}")).status_code == 204
    revoked = [s for s in front.seen if s.path == "/demo/provider/revoke_token/"]
    assert [(s.client, s.form["token_type_hint"]) for s in revoked] == [
        ("patchbay-client", ["refresh_token"]),
        ("patchbay-client", ["access_token"]),
    ]
    assert get_refresh_token_model().objects.get(token=latest["refreshToken"]).revoked
    assert not get_access_token_model().objects.filter(token=latest["accessToken"]).exists()
    assert front.refused == []
    assert_no_secrets(*key_lines(issued), texts=[refreshed.content.decode()])


def test_with_mtls_off_the_exchange_fails_and_stores_nothing(alice, provider, front, certificate):
    """The same exchange with mtlsEnabled off: no certificate and no trust in the front's CA,
    so the handshake fails, the code is never sent, nothing is stored."""
    cert, _issued = certificate
    client = f.client_credential(
        alice.organisation,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_url=f"{front.url}/demo/provider/token/",
    )
    connector, _config = f.oauth2_connector(
        alice.organisation,
        authorizeUrl=provider.authorize_url,
        tokenUrl=f"{front.url}/demo/provider/token/",
        mtlsEnabled=False,
        mtlsCredentialId=str(cert.pk),
        grant={
            "type": "authorizationCode",
            "authorizationCode": {
                "credentialId": str(client.pk),
                "organisationId": alice.org_id,
                "clientId": provider.client_id,
            },
        },
    )
    started = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
        f.initialise_body(client, authorizeUrl=provider.authorize_url),
        format="json",
    )
    page = requests.get(provider.consent(started.json()["url"]), timeout=10)
    assert page.status_code == 502
    assert not Connection.objects.exists()
    assert front.seen == []
    assert front.refused  # no trust in the front's CA and no certificate: refused


# --- tls_client_auth: the certificate is the client's authentication ------------------------


class TlsClientAuthEndpoint:
    """A token endpoint that authenticates clients by certificate (RFC 8705 §2.1): it wants
    `client_id` in the form, the certificate `patchbay-client`, and no secret anywhere."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.issued: list[str] = []

    def __call__(self, seen: Seen, body: bytes):
        def refuse(error: str):
            return json_answer(401, json.dumps({"error": error}).encode())

        if seen.client != "patchbay-client" or seen.form.get("client_id") != [self.client_id]:
            return refuse("invalid_client")
        if "client_secret" in seen.form or "authorization" in seen.headers:
            return refuse("invalid_request")
        grant = seen.form.get("grant_type", [""])[0]
        if grant == "refresh_token" and seen.form.get("refresh_token", [""])[0] not in self.issued:
            return refuse("invalid_grant")
        if grant not in ("client_credentials", "refresh_token"):
            return refuse("unsupported_grant_type")
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.issued.append(refresh)
        token = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
        return json_answer(200, json.dumps({**token, "refresh_token": refresh}).encode())


def tls_client_auth_connector(alice, url: str, cert: Credential, client_id: str):
    client = f.client_credential(alice.organisation, client_id=client_id, token_url=url)
    connector, _config = f.oauth2_connector(
        alice.organisation,
        name="Bank API",
        authorizeUrl="",
        tokenUrl=url,
        tokenAuthMethod="tls_client_auth",
        mtlsEnabled=True,
        mtlsCredentialId=str(cert.pk),
        grant={
            "type": "clientCredentials",
            "clientCredentials": {
                "credentialId": str(client.pk),
                "organisationId": alice.org_id,
                "clientId": client_id,
            },
        },
    )
    return connector, client


def test_tls_client_auth_sends_the_client_id_without_a_secret(
    alice, pki, certificate, assert_no_secrets
):
    cert, issued = certificate
    endpoint = TlsClientAuthEndpoint("bank-client")
    with tls_server(pki["server"], pki["client"], app=endpoint) as tls:
        connector, client = tls_client_auth_connector(
            alice, f"{tls.url}/token", cert, "bank-client"
        )
        response = alice.client.post(
            alice.url(f"connectors/{connector.pk}/oauth2/token"), {"name": "Bank"}, format="json"
        )
        assert response.status_code == 201, response.json()
        connection = Connection.objects.get(pk=response.json()["id"])
        refreshed = get_token(alice, connection, "?forceRefresh=true")
        assert refreshed.status_code == 200, refreshed.json()
    assert [s.form["grant_type"] for s in tls.seen] == [["client_credentials"], ["refresh_token"]]
    assert all(s.client == "patchbay-client" for s in tls.seen)
    assert all("client_secret" not in s.form and "authorization" not in s.headers for s in tls.seen)
    secret = client.data["clientSecret"]
    assert_no_secrets(secret, *key_lines(issued), texts=[response.content.decode()])


def test_a_missing_mtls_credential_stops_the_request_before_it_is_sent(alice, pki, certificate):
    cert, _issued = certificate
    endpoint = TlsClientAuthEndpoint("bank-client")
    with tls_server(pki["server"], pki["client"], app=endpoint) as tls:
        connector, _client = tls_client_auth_connector(
            alice, f"{tls.url}/token", cert, "bank-client"
        )
        config = connector.auth_scheme_configs.get()
        config.settings = {
            **config.settings,
            "mtlsCredentialId": "7d1b5f8e-1111-4111-8111-111111111111",
        }
        config.save()
        response = alice.client.post(
            alice.url(f"connectors/{connector.pk}/oauth2/token"), {}, format="json"
        )
    assert response.status_code == 502
    assert response.json()["code"] == "token_exchange_failed"
    assert "no_mtls_credential" in response.json()["message"]
    assert tls.seen == []
    assert tls.refused == []
    assert not Connection.objects.exists()


def test_another_organisations_certificate_is_never_used(alice, charlie, pki):
    issued = pki["client"].issue("patchbay-client")
    theirs = Credential.objects.create(
        organisation=charlie.organisation,
        name="Charlie's certificate",
        type="certificate",
        data={"certificate": issued.certificate, "key": issued.key, "ca": pki["server"].pem},
    )
    endpoint = TlsClientAuthEndpoint("bank-client")
    with tls_server(pki["server"], pki["client"], app=endpoint) as tls:
        connector, _client = tls_client_auth_connector(
            alice, f"{tls.url}/token", theirs, "bank-client"
        )
        response = alice.client.post(
            alice.url(f"connectors/{connector.pk}/oauth2/token"), {}, format="json"
        )
    assert response.status_code == 502
    assert tls.seen == []


# --- The config ---------------------------------------------------------------------------


def config_body(**oauth2):
    return {
        "name": "Bank",
        "authSchemeConfigs": [
            {
                "id": "oauth2",
                "type": "oauth2",
                "oauth2": {
                    "tokenUrl": "https://bank.example.com/token",
                    "grant": {
                        "type": "clientCredentials",
                        "clientCredentials": {"clientId": "c", "clientSecret": "s" * 12},
                    },
                    **oauth2,
                },
            }
        ],
    }


def test_tls_client_auth_needs_mtls(alice):
    response = alice.client.post(
        alice.url("connectors"), config_body(tokenAuthMethod="tls_client_auth"), format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == [
        {
            "field": "authSchemeConfigs[0].oauth2.tokenAuthMethod",
            "message": "tls_client_auth needs mtlsEnabled (RFC 8705).",
        }
    ]


def test_a_tls_client_auth_config_is_stored_and_shown(alice, certificate):
    cert, _issued = certificate
    body = config_body(
        tokenAuthMethod="tls_client_auth", mtlsEnabled=True, mtlsCredentialId=str(cert.pk)
    )
    response = alice.client.post(alice.url("connectors"), body, format="json")
    assert response.status_code == 201, response.json()
    oauth2 = response.json()["authSchemeConfigs"][0]["oauth2"]
    assert (oauth2["tokenAuthMethod"], oauth2["mtlsEnabled"], oauth2["mtlsCredentialId"]) == (
        "tls_client_auth",
        True,
        str(cert.pk),
    )


def test_the_mtls_credential_must_be_a_certificate(alice):
    other = f.client_credential(alice.organisation)
    body = config_body(mtlsEnabled=True, mtlsCredentialId=str(other.pk))
    response = alice.client.post(alice.url("connectors"), body, format="json")
    assert response.status_code in (400, 404)
    assert response.json()["fields"][0]["field"] == "authSchemeConfigs[0].oauth2.mtlsCredentialId"
