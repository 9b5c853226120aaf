"""The OAuth 2.0 callback, browser page and API (SPEC §5.2), with the token endpoint faked at
the outbound seam. The real provider is exercised in test_flow.py."""

from __future__ import annotations

import base64
import threading
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection as db_connection
from django.utils import timezone

from connections.models import AuthorisationRequest, Connection, ConnectionCredential
from connections.oauth import CallbackParams, authorisation_complete
from credentials.models import Credential
from tests.connections import factories as f

BROWSER = "/connections/oauth2/callback"
API = "/api/v2/connections/oauth2/callback"


@pytest.fixture
def setup(alice):
    connector, config = f.oauth2_connector(alice.organisation)
    credential = f.client_credential(alice.organisation)
    return connector, config, credential


def start(actor, connector, credential, **body) -> str:
    response = actor.client.post(
        actor.url(f"connectors/{connector.pk}/oauth2/initialise"),
        f.initialise_body(credential, **body),
        format="json",
    )
    assert response.status_code == 200, response.json()
    return parse_qs(urlsplit(response.json()["url"]).query)["state"][0]


def counts() -> tuple[int, int, int]:
    return (
        Credential.objects.count(),
        Connection.objects.count(),
        ConnectionCredential.objects.count(),
    )


def form(request: requests.PreparedRequest) -> dict[str, list[str]]:
    body = request.body or ""
    return parse_qs(body if isinstance(body, str) else body.decode())


# --- Success ------------------------------------------------------------------------


def test_it_finishes_a_flow_through_the_api_callback(alice, setup, token_endpoint):
    connector, config, credential = setup
    state = start(alice, connector, credential)
    response = alice.client.get(API, {"code": "the-code", "state": state})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["type"] == "oauth2-token"
    assert body["organisationId"] == alice.org_id
    assert "accessToken" not in body["data"]["oauth2Token"]
    assert "fake-access-token-123" not in str(body)
    assert "fake-refresh-token-456" not in str(body)

    token = Credential.objects.get(pk=body["id"])
    assert token.data["accessToken"] == "fake-access-token-123"
    assert token.data["refreshToken"] == "fake-refresh-token-456"
    assert token.data["tokenType"] == "Bearer"
    assert token.data["scopes"] == ["read", "offline_access"]
    assert token.data["expiresAt"] is not None
    connection = Connection.objects.get()
    assert connection.connector == connector
    assert connection.status == "active"
    link = ConnectionCredential.objects.get(connection=connection)
    assert (link.credential, link.auth_scheme_config, link.client_credential) == (
        token,
        config,
        credential,
    )
    assert AuthorisationRequest.objects.get().used_at is not None


def test_it_sends_code_verifier_and_redirect_uri_with_basic_auth(
    alice, setup, token_endpoint, settings
):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    verifier = AuthorisationRequest.objects.get().code_verifier
    alice.client.get(API, {"code": "the-code", "state": state})
    (sent,) = token_endpoint.sent
    assert sent.url == f.TOKEN_URL
    assert sent.method == "POST"
    params = form(sent)
    assert params["grant_type"] == ["authorization_code"]
    assert params["code"] == ["the-code"]
    assert params["code_verifier"] == [verifier]
    assert params["redirect_uri"] == [f"{settings.PATCHBAY_PUBLIC_URL}/connections/oauth2/callback"]
    assert "client_secret" not in params
    scheme, _, encoded = sent.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"client-123:{credential.data['clientSecret']}"


def test_it_can_post_the_client_secret_and_additional_token_params(alice, token_endpoint):
    connector, _ = f.oauth2_connector(
        alice.organisation,
        tokenAuthMethod="client_secret_post",
        additionalTokenParams="audience=api&resource=x",
    )
    credential = f.client_credential(alice.organisation)
    state = start(alice, connector, credential)
    assert alice.client.get(API, {"code": "c", "state": state}).status_code == 201
    (sent,) = token_endpoint.sent
    params = form(sent)
    assert params["client_id"] == ["client-123"]
    assert params["client_secret"] == [credential.data["clientSecret"]]
    assert params["audience"] == ["api"]
    assert params["resource"] == ["x"]
    assert "Authorization" not in sent.headers


def test_it_uses_the_redirect_uri_of_the_initialise(alice, setup, token_endpoint, settings):
    settings.PATCHBAY_ALLOW_LOOPBACK_REDIRECTS = True
    connector, _, credential = setup
    state = start(alice, connector, credential, redirectUrl="http://127.0.0.1:7777/done")
    alice.client.get(API, {"code": "c", "state": state})
    assert form(token_endpoint.sent[0])["redirect_uri"] == ["http://127.0.0.1:7777/done"]


@pytest.mark.parametrize("expires_in", [3600, "3600", 3600.0, "3600.0", " 3600 "])
def test_it_reads_expires_in_as_number_or_numeric_string(alice, setup, token_endpoint, expires_in):
    connector, _, credential = setup
    token_endpoint.answer(
        200, {"access_token": "a", "token_type": "Bearer", "expires_in": expires_in}
    )
    state = start(alice, connector, credential)
    assert alice.client.get(API, {"code": "c", "state": state}).status_code == 201
    expires_at = Credential.objects.get(type="oauth2-token").data["expiresAt"]
    delta = datetime.fromisoformat(expires_at) - timezone.now()
    assert timedelta(minutes=59) < delta <= timedelta(hours=1)


@pytest.mark.parametrize("expires_in", [0, "0", -5, "-5"])
def test_it_reads_a_zero_or_negative_expires_in_as_expired_now(
    alice, setup, token_endpoint, expires_in
):
    connector, _, credential = setup
    token_endpoint.answer(200, {"access_token": "a", "expires_in": expires_in})
    state = start(alice, connector, credential)
    assert alice.client.get(API, {"code": "c", "state": state}).status_code == 201
    expires_at = Credential.objects.get(type="oauth2-token").data["expiresAt"]
    assert abs(datetime.fromisoformat(expires_at) - timezone.now()) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "raw",
    [
        '{"access_token": "a", "expires_in": "soon"}',
        '{"access_token": "a", "expires_in": "\u00b2"}',  # "²".isdigit() is True
        '{"access_token": "a", "expires_in": 1e400}',
        '{"access_token": "a", "expires_in": null}',
        '{"access_token": "a", "expires_in": true}',
    ],
)
def test_an_unreadable_expires_in_means_no_known_expiry(alice, setup, token_endpoint, raw):
    connector, _, credential = setup
    token_endpoint.answer(200, raw)
    state = start(alice, connector, credential)
    response = alice.client.get(API, {"code": "c", "state": state})
    assert response.status_code == 201, response.json()
    assert Credential.objects.get(type="oauth2-token").data["expiresAt"] is None


def test_additional_token_params_go_only_into_the_form(alice, token_endpoint):
    # Names that requests-oauthlib's fetch_token also takes as options of its own.
    hostile = "verify=0&cert=%2Fnonexistent&method=GET&force_querystring=1&headers=x&proxies=y"
    connector, _ = f.oauth2_connector(alice.organisation, additionalTokenParams=hostile)
    credential = f.client_credential(alice.organisation)
    state = start(alice, connector, credential)
    assert alice.client.get(API, {"code": "c", "state": state}).status_code == 201
    (sent,) = token_endpoint.sent
    assert sent.method == "POST"
    assert urlsplit(sent.url).query == ""  # no code, verifier or secret in the URL
    params = form(sent)
    assert params["code"] == ["c"]
    for name in ("verify", "cert", "method", "force_querystring", "headers", "proxies"):
        assert name in params, name
    (options,) = token_endpoint.options
    assert options["verify"] is True  # certificate checks stay on
    assert options["cert"] is None


def test_a_redirecting_token_endpoint_is_not_followed(alice, setup, token_endpoint):
    connector, _, credential = setup
    token_endpoint.answer(307, "", "text/plain")
    token_endpoint.headers = {"Location": "https://elsewhere.example/steal"}
    state = start(alice, connector, credential)
    response = alice.client.get(API, {"code": "c", "state": state})
    assert response.status_code == 502
    assert response.json()["code"] == "token_exchange_failed"
    assert [r.url for r in token_endpoint.sent] == [f.TOKEN_URL]
    assert Credential.objects.filter(type="oauth2-token").count() == 0


def test_it_accepts_a_token_without_refresh_token_or_expiry(alice, setup, token_endpoint):
    connector, _, credential = setup
    token_endpoint.answer(200, {"access_token": "only-access", "token_type": "bearer"})
    state = start(alice, connector, credential)
    assert alice.client.get(API, {"code": "c", "state": state}).status_code == 201
    data = Credential.objects.get(type="oauth2-token").data
    assert data["accessToken"] == "only-access"
    assert "refreshToken" not in data
    assert data["expiresAt"] is None


def test_it_stores_the_granted_scopes(alice, setup, token_endpoint):
    connector, _, credential = setup
    token_endpoint.answer(200, {"access_token": "a", "token_type": "Bearer", "scope": "read"})
    state = start(alice, connector, credential)
    alice.client.get(API, {"code": "c", "state": state})
    assert Credential.objects.get(type="oauth2-token").data["scopes"] == ["read"]


def test_the_browser_page_shows_success_safely(alice, setup, token_endpoint, client):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    response = client.get(BROWSER, {"code": "c", "state": state})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Connected" in html
    assert connector.name in html
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "http://" not in html
    assert "https://" not in html
    assert "fake-access-token-123" not in html


def test_it_names_new_connections_uniquely(alice, setup, token_endpoint):
    connector, _, credential = setup
    for _ in range(3):
        state = start(alice, connector, credential)
        assert alice.client.get(API, {"code": "c", "state": state}).status_code == 201
    names = sorted(Connection.objects.values_list("name", flat=True))
    assert names == ["Acme CRM", "Acme CRM (2)", "Acme CRM (3)"]


def test_it_reauthorises_a_connection(alice, setup, token_endpoint):
    connector, config, credential = setup
    old_token = f.token_credential(alice.organisation)
    existing = f.connection(alice.organisation, connector, links=[(config, old_token)])
    existing.status = "needs_reauth"
    existing.save()
    state = start(alice, connector, credential, connectionId=str(existing.pk))
    response = alice.client.get(API, {"code": "c", "state": state})
    assert response.status_code == 201
    existing.refresh_from_db()
    assert existing.status == "active"
    assert Connection.objects.count() == 1
    link = ConnectionCredential.objects.get(connection=existing)
    assert str(link.credential_id) == response.json()["id"]
    assert not Credential.objects.filter(pk=old_token.pk).exists()


# --- The state ---------------------------------------------------------------------------


def refused(http, url, params, *, status=400, code="invalid_state"):
    before = counts()
    response = http.get(url, params)
    assert response.status_code == status, response.content
    if url == API:
        payload = response.json()
        assert set(payload) <= {"code", "message", "fields", "providerError"}
        assert payload["code"] == code
    else:
        assert code in response.content.decode()
    assert counts() == before
    return response


@pytest.mark.parametrize("url", [API, BROWSER])
def test_it_refuses_a_forged_state(alice, setup, no_network, client, url):
    connector, _, credential = setup
    start(alice, connector, credential)
    http = alice.client if url == API else client
    refused(http, url, {"code": "c", "state": "forged-" + "a" * 40})
    refused(http, url, {"code": "c"})
    refused(http, url, {"code": "c", "state": ""})
    assert AuthorisationRequest.objects.get().used_at is None


def test_an_invalid_state_is_a_field_error_on_state(alice, setup, no_network):
    connector, _, credential = setup
    start(alice, connector, credential)
    for params in ({"code": "c", "state": "forged-" + "a" * 40}, {"code": "c", "state": "<x>"}):
        payload = refused(alice.client, API, params).json()
        assert [f["field"] for f in payload["fields"]] == ["state"]


@pytest.mark.parametrize(("count", "status"), [(20, 201), (21, 400)])
def test_it_reads_at_most_twenty_query_parameters(alice, setup, token_endpoint, count, status):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    extra = "".join(f"&x{i}=1" for i in range(count - 2))
    response = alice.client.get(f"{API}?code=c&state={state}{extra}")
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["code"] == "invalid_request"
        assert token_endpoint.sent == []
        assert AuthorisationRequest.objects.get().used_at is None


def test_a_failed_callback_marks_only_its_own_authorisation_request(
    alice, setup, token_endpoint, client
):
    connector, _, credential = setup
    failing, other = start(alice, connector, credential), start(alice, connector, credential)
    token_endpoint.answer(400, {"error": "invalid_grant"})
    refused(
        client, BROWSER, {"code": "c", "state": failing}, status=502, code="token_exchange_failed"
    )
    by_status = dict(AuthorisationRequest.objects.values_list("status", "error_code"))
    assert by_status == {"failed": "token_exchange_failed", "pending": ""}
    token_endpoint.answer(200, {"access_token": "a", "token_type": "Bearer"})
    assert client.get(BROWSER, {"code": "c", "state": other}).status_code == 200


@pytest.mark.parametrize("url", [API, BROWSER])
def test_it_refuses_a_replayed_state(alice, setup, token_endpoint, client, url):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    http = alice.client if url == API else client
    assert http.get(url, {"code": "c", "state": state}).status_code in (200, 201)
    calls = len(token_endpoint.sent)
    refused(http, url, {"code": "c", "state": state})
    assert len(token_endpoint.sent) == calls


@pytest.mark.parametrize("url", [API, BROWSER])
def test_it_refuses_an_expired_state(alice, setup, no_network, client, url):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    AuthorisationRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    refused(alice.client if url == API else client, url, {"code": "c", "state": state})


def test_it_refuses_another_organisations_state_without_consuming_it(
    alice, charlie, setup, no_network
):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    refused(charlie.client, API, {"code": "c", "state": state})
    assert AuthorisationRequest.objects.get().used_at is None


def test_another_organisations_attempt_leaves_the_state_usable(
    alice, charlie, setup, token_endpoint
):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    assert charlie.client.get(API, {"code": "c", "state": state}).status_code == 400
    assert token_endpoint.sent == []
    assert alice.client.get(API, {"code": "c", "state": state}).status_code == 201


@pytest.mark.parametrize("url", [API, BROWSER])
@pytest.mark.parametrize("repeated", ["state", "code", "iss", "other"])
def test_it_refuses_repeated_parameters(alice, setup, no_network, client, url, repeated):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    query = f"code=c&state={state}&{repeated}=x&{repeated}=y"
    http = alice.client if url == API else client
    before = counts()
    response = http.get(f"{url}?{query}")
    assert response.status_code == 400
    assert counts() == before
    assert AuthorisationRequest.objects.get().used_at is None


@pytest.mark.parametrize("url", [API, BROWSER])
@pytest.mark.parametrize(
    ("code", "state_suffix", "expected"),
    [
        ("ab%00cd", "", "invalid_request"),
        ("ab%0d%0aSet-Cookie:x=1", "", "invalid_request"),
        ("ab cd", "", "invalid_request"),
        ("c", "%00", "invalid_state"),
        ("c", "%0d%0a", "invalid_state"),
        ("c", "<script>", "invalid_state"),
        ("c" * 2049, "", "invalid_request"),
    ],
)
def test_it_refuses_malformed_codes_and_states(
    alice, setup, no_network, client, url, code, state_suffix, expected
):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    http = alice.client if url == API else client
    before = counts()
    response = http.get(f"{url}?code={code}&state={state}{state_suffix}")
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert counts() == before
    assert AuthorisationRequest.objects.get().used_at is None


@pytest.mark.parametrize("url", [API, BROWSER])
def test_it_refuses_a_100_kb_state_without_querying(
    alice, setup, no_network, client, url, django_assert_max_num_queries
):
    connector, _, credential = setup
    start(alice, connector, credential)
    http = alice.client if url == API else client
    http.get(f"{API}?state=warm-up-the-key&code=c") if url == API else None
    with django_assert_max_num_queries(1 if url == API else 0):
        response = http.get(url, {"code": "c", "state": "a" * 100_000})
    assert response.status_code == 400
    assert "invalid_state" in response.content.decode()


def test_anonymous_callers_cannot_use_the_api_callback(anonymous, alice, setup, no_network):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    response = anonymous.get(API, {"code": "c", "state": state})
    assert response.status_code in (401, 403)
    assert AuthorisationRequest.objects.get().used_at is None


# --- The provider's answer --------------------------------------------------------------------


@pytest.mark.parametrize("url", [API, BROWSER])
def test_it_reads_access_denied_as_cancelled(alice, setup, no_network, client, url):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    http = alice.client if url == API else client
    response = refused(http, url, {"error": "access_denied", "state": state}, code="access_denied")
    assert "cancelled" in response.content.decode().lower()
    assert AuthorisationRequest.objects.get().used_at is not None  # consumed


def test_it_escapes_the_error_description(alice, setup, no_network, client):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = client.get(
        BROWSER, {"error": "server_error", "error_description": evil, "state": state}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "server_error" in html


def test_it_reports_an_odd_provider_error_code_generically(alice, setup, no_network):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    response = alice.client.get(API, {"error": "<b>bad</b>", "state": state})
    assert response.status_code == 400
    assert response.json()["code"] == "provider_error"


def test_it_refuses_a_callback_with_neither_code_nor_error(alice, setup, no_network):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    assert alice.client.get(API, {"state": state}).status_code == 400
    assert AuthorisationRequest.objects.get().used_at is None


ISSUER = "https://auth.example.com"


@pytest.mark.parametrize(
    "iss",
    [
        f"{ISSUER}/",
        "https://AUTH.example.com",
        "https://auth.example.com:443",
        "https://evil.example",
    ],
)
def test_it_refuses_another_issuer(alice, no_network, iss):
    connector, _ = f.oauth2_connector(alice.organisation, issuer=ISSUER)
    credential = f.client_credential(alice.organisation)
    state = start(alice, connector, credential)
    refused(alice.client, API, {"code": "c", "state": state, "iss": iss}, code="invalid_issuer")


def test_a_malformed_iss_names_its_field(alice, setup, no_network):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    params = {"code": "c", "state": state, "iss": "https://x\x00"}
    payload = refused(alice.client, API, params, code="invalid_issuer").json()
    assert [f["field"] for f in payload["fields"]] == ["iss"]


def test_it_accepts_the_exact_issuer(alice, token_endpoint):
    connector, _ = f.oauth2_connector(alice.organisation, issuer=ISSUER)
    credential = f.client_credential(alice.organisation)
    state = start(alice, connector, credential)
    assert alice.client.get(API, {"code": "c", "state": state, "iss": ISSUER}).status_code == 201


def test_it_refuses_a_missing_issuer_when_the_provider_sends_it(alice, no_network):
    connector, _ = f.oauth2_connector(alice.organisation, issuer=ISSUER, issParameterSupported=True)
    credential = f.client_credential(alice.organisation)
    state = start(alice, connector, credential)
    payload = refused(
        alice.client, API, {"code": "c", "state": state}, code="invalid_issuer"
    ).json()
    assert payload["fields"] == [{"field": "iss", "message": "Required."}]


def test_it_accepts_a_missing_issuer_when_the_provider_does_not_send_it(alice, token_endpoint):
    connector, _ = f.oauth2_connector(alice.organisation, issuer=ISSUER)
    credential = f.client_credential(alice.organisation)
    state = start(alice, connector, credential)
    assert alice.client.get(API, {"code": "c", "state": state}).status_code == 201


def test_it_rechecks_the_client_id(alice, setup, no_network):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    credential.data = {**credential.data, "clientId": "another-client"}
    credential.save()
    refused(alice.client, API, {"code": "c", "state": state}, code="client_id_mismatch")


# --- Token endpoint faults ----------------------------------------------------------------------


FAULTS = [
    (500, {"error": "server_error"}, "application/json"),
    (503, "<html><body>Down</body></html>", "text/html"),
    (200, "<html><body>Sign in</body></html>", "text/html; charset=utf-8"),
    (200, "{not json", "application/json"),
    (200, {"token_type": "Bearer"}, "application/json"),
    (200, {"access_token": "", "token_type": "Bearer"}, "application/json"),
    (200, {"access_token": 123, "token_type": "Bearer"}, "application/json"),
    (200, [1, 2], "application/json"),
    (400, {"error": "invalid_grant", "error_description": "bad code"}, "application/json"),
    (401, {"error": "invalid_client"}, "application/json"),
    (200, {"access_token": "a", "scope": 5}, "application/json"),
    (200, {"access_token": "a", "scope": {"read": True}}, "application/json"),
]


@pytest.mark.parametrize("url", [API, BROWSER])
@pytest.mark.parametrize(("status", "body", "content_type"), FAULTS)
def test_provider_faults_answer_502_and_store_nothing(
    alice, setup, token_endpoint, client, url, status, body, content_type
):
    connector, _, credential = setup
    token_endpoint.answer(status, body, content_type)
    state = start(alice, connector, credential)
    http = alice.client if url == API else client
    response = refused(
        http, url, {"code": "c", "state": state}, status=502, code="token_exchange_failed"
    )
    if isinstance(body, dict) and "error" in body and url == API:
        assert response.json()["providerError"] == body["error"]
        assert body["error"] in response.json()["message"]


def test_a_timeout_answers_502_and_stores_nothing(alice, setup, token_endpoint):
    connector, _, credential = setup
    token_endpoint.raises = requests.Timeout("read timed out")
    state = start(alice, connector, credential)
    response = refused(
        alice.client, API, {"code": "c", "state": state}, status=502, code="token_exchange_failed"
    )
    # One word for every network failure (issue 18: no port-scan oracle).
    assert "(unreachable)" in response.json()["message"]


def test_a_blocked_token_url_answers_502(alice, settings, no_network):
    connector, _ = f.oauth2_connector(alice.organisation, tokenUrl="http://127.0.0.1:1/token")
    credential = f.client_credential(alice.organisation)
    state = start(alice, connector, credential)
    settings.PATCHBAY_ALLOW_INSECURE_HTTP = False
    refused(
        alice.client, API, {"code": "c", "state": state}, status=502, code="token_exchange_failed"
    )


# --- Secrets -----------------------------------------------------------------------------------


def test_no_secret_reaches_responses_pages_or_logs(
    alice, setup, token_endpoint, client, assert_no_secrets
):
    connector, _, credential = setup
    texts = []
    for http, url in ((alice.client, API), (client, BROWSER)):
        state = start(alice, connector, credential)
        texts.append(http.get(url, {"code": "secret-code-xyz", "state": state}).content.decode())
    verifiers = [r.code_verifier for r in AuthorisationRequest.objects.all()]
    token_endpoint.answer(400, {"error": "invalid_grant", "error_description": "secret-code-xyz"})
    state = start(alice, connector, credential)
    texts.append(
        alice.client.get(API, {"code": "secret-code-xyz", "state": state}).content.decode()
    )
    token_endpoint.raises = requests.Timeout("secret-code-xyz")
    state = start(alice, connector, credential)
    texts.append(client.get(BROWSER, {"code": "secret-code-xyz", "state": state}).content.decode())
    assert_no_secrets(
        credential.data["clientSecret"],
        "fake-access-token-123",
        "fake-refresh-token-456",
        "secret-code-xyz",
        *verifiers,
        texts=texts,
    )


# --- Concurrency -------------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_only_one_of_two_concurrent_callbacks_proceeds(alice, setup, token_endpoint):
    connector, _, credential = setup
    state = start(alice, connector, credential)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def callback() -> None:
        try:
            barrier.wait()
            authorisation_complete(CallbackParams(state=state, code="c"))
            outcomes.append("ok")
        except Exception as exc:
            outcomes.append(getattr(exc, "code", repr(exc)))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=callback) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["invalid_state", "ok"]
    assert len(token_endpoint.sent) == 1
    assert Connection.objects.count() == 1
    assert Credential.objects.filter(type="oauth2-token").count() == 1
