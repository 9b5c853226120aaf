"""POST /api/v2/o/{org}/connectors/{connector}/oauth2/initialise (SPEC §5.1)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from connections.models import AuthorisationRequest
from connections.oauth.initialise import pkce_challenge, state_hash
from tests.connections import factories as f


def initialise(actor, connector, body, **kwargs):
    return actor.client.post(
        actor.url(f"connectors/{connector.pk}/oauth2/initialise"), body, format="json", **kwargs
    )


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


@pytest.fixture
def setup(alice):
    connector, config = f.oauth2_connector(alice.organisation)
    credential = f.client_credential(alice.organisation)
    return connector, config, credential


def ok(actor, connector, body) -> dict[str, list[str]]:
    response = initialise(actor, connector, body)
    assert response.status_code == 200, response.json()
    return query(response.json()["url"])


def refused(actor, connector, body, status=400, code=None):
    before = AuthorisationRequest.objects.count()
    response = initialise(actor, connector, body)
    assert response.status_code == status, response.content
    payload = response.json()
    assert set(payload) <= {"code", "message", "fields"}
    if code:
        assert payload["code"] == code, payload
    assert AuthorisationRequest.objects.count() == before
    return payload


# --- The URL --------------------------------------------------------------------


def test_it_returns_an_authorize_url_with_every_parameter(alice, setup, settings):
    connector, config, credential = setup
    response = initialise(alice, connector, f.initialise_body(credential))
    assert response.status_code == 200
    assert set(response.json()) == {"url"}
    url = response.json()["url"]
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f.AUTHORIZE_URL
    q = query(url)
    assert q["response_type"] == ["code"]
    assert q["client_id"] == ["client-123"]
    assert q["redirect_uri"] == [f"{settings.PATCHBAY_PUBLIC_URL}/connections/oauth2/callback"]
    assert q["scope"] == ["read offline_access"]
    assert q["prompt"] == ["login"]
    assert q["code_challenge_method"] == ["S256"]
    state = q["state"][0]
    assert len(state) >= 43
    assert all(len(values) == 1 for values in q.values())

    stored = AuthorisationRequest.objects.get()
    assert stored.state_hash == state_hash(state)
    assert state not in json.dumps([str(v) for v in stored.__dict__.values()])
    assert q["code_challenge"] == [pkce_challenge(stored.code_verifier)]
    assert stored.organisation == alice.organisation
    assert stored.auth_scheme_config == config
    assert stored.client_credential == credential
    assert stored.scopes == ["read", "offline_access"]
    assert stored.used_at is None
    ttl = timedelta(seconds=settings.PATCHBAY_STATE_TTL_SECONDS)
    assert abs(stored.expires_at - (timezone.now() + ttl)) < timedelta(seconds=30)


def test_it_makes_a_new_state_every_time(alice, setup):
    connector, _, credential = setup
    states = {ok(alice, connector, f.initialise_body(credential))["state"][0] for _ in range(3)}
    assert len(states) == 3


def test_it_stores_the_pkce_verifier_encrypted(alice, setup):
    from django.db import connection as db

    connector, _, credential = setup
    ok(alice, connector, f.initialise_body(credential))
    stored = AuthorisationRequest.objects.get()
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT code_verifier FROM connections_authorisationrequest WHERE id = %s",
            [stored.pk.hex if db.vendor == "sqlite" else stored.pk],
        )
        raw = cursor.fetchone()[0]
    assert stored.code_verifier not in raw


def test_it_keeps_the_authorize_urls_own_query(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, authorizeUrl=f"{f.AUTHORIZE_URL}?tenant=abc&x=")
    url = initialise(alice, connector, body).json()["url"]
    assert url.startswith(f"{f.AUTHORIZE_URL}?tenant=abc&x=&response_type=code")
    assert query(url)["tenant"] == ["abc"]


def test_it_leaves_pkce_out_when_the_config_turns_it_off(alice):
    connector, _ = f.oauth2_connector(alice.organisation, pkce=False)
    credential = f.client_credential(alice.organisation)
    q = ok(alice, connector, f.initialise_body(credential))
    assert "code_challenge" not in q
    assert "code_challenge_method" not in q
    assert AuthorisationRequest.objects.get().code_verifier is None


def test_it_stores_the_configs_issuer(alice):
    connector, _ = f.oauth2_connector(alice.organisation, issuer="https://auth.example.com")
    credential = f.client_credential(alice.organisation)
    ok(alice, connector, f.initialise_body(credential))
    assert AuthorisationRequest.objects.get().expected_issuer == "https://auth.example.com"


# --- Scopes -------------------------------------------------------------------------


def test_it_uses_the_requested_scopes_instead_of_the_defaults(alice, setup):
    connector, _, credential = setup
    q = ok(alice, connector, f.initialise_body(credential, scopes=["contacts", "deals"]))
    assert q["scope"] == ["contacts deals offline_access"]


def test_it_does_not_repeat_scopes(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, scopes=["a", "offline_access", "a"])
    assert ok(alice, connector, body)["scope"] == ["a offline_access"]


def test_it_leaves_offline_access_out_when_asked(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, scopes=["a"], disableOfflineAccess=True)
    assert ok(alice, connector, body)["scope"] == ["a"]


def test_it_joins_scopes_with_the_configs_separator(alice):
    connector, _ = f.oauth2_connector(alice.organisation, scopeSeparator=",")
    credential = f.client_credential(alice.organisation)
    q = ok(alice, connector, f.initialise_body(credential, scopes=["repo", "user"]))
    assert q["scope"] == ["repo,user,offline_access"]


def test_it_refuses_a_scope_containing_the_separator(alice):
    connector, _ = f.oauth2_connector(alice.organisation, scopeSeparator=",")
    credential = f.client_credential(alice.organisation)
    refused(alice, connector, f.initialise_body(credential, scopes=["repo,admin"]))


@pytest.mark.parametrize("scope", ["two words", "tab\tbed", "", "x" * 257])
def test_it_refuses_bad_scopes(alice, setup, scope):
    connector, _, credential = setup
    refused(alice, connector, f.initialise_body(credential, scopes=[scope]))


def test_it_refuses_more_than_100_scopes(alice, setup):
    connector, _, credential = setup
    refused(alice, connector, f.initialise_body(credential, scopes=[f"s{i}" for i in range(101)]))


def test_it_refuses_10000_scopes(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, scopes=[f"s{i}" for i in range(10_000)])
    response = initialise(alice, connector, body)
    assert 400 <= response.status_code < 500
    assert "code" in response.json()
    assert AuthorisationRequest.objects.count() == 0


def test_it_accepts_100_scopes_of_256_characters(alice, setup):
    connector, _, credential = setup
    scopes = [f"{i:03d}" + "x" * 253 for i in range(100)]
    body = f.initialise_body(credential, scopes=scopes, disableOfflineAccess=True)
    assert ok(alice, connector, body)["scope"] == [" ".join(scopes)]


# --- Prompt ---------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["consent+select_account", "consent select_account"])
def test_it_sends_several_prompts_space_separated(alice, setup, given):
    connector, _, credential = setup
    url = initialise(alice, connector, f.initialise_body(credential, prompt=given)).json()["url"]
    assert "prompt=consent+select_account" in url
    assert query(url)["prompt"] == ["consent select_account"]


def test_it_sends_no_default_prompt_with_approval_prompt(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams="approval_prompt=force")
    q = ok(alice, connector, body)
    assert "prompt" not in q
    assert q["approval_prompt"] == ["force"]


def test_it_lets_additional_params_set_prompt_when_patchbay_does_not(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams="approval_prompt=force&prompt=none")
    assert ok(alice, connector, body)["prompt"] == ["none"]


def test_it_keeps_an_explicit_prompt_beside_approval_prompt(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, prompt="consent", additionalParams="approval_prompt=force")
    assert ok(alice, connector, body)["prompt"] == ["consent"]


@pytest.mark.parametrize("prompt", ["", "+", "login<script>", "a" * 65])
def test_it_refuses_malformed_prompts(alice, setup, prompt):
    connector, _, credential = setup
    refused(alice, connector, f.initialise_body(credential, prompt=prompt))


# --- Additional parameters ---------------------------------------------------------------


def test_it_appends_config_then_request_parameters(alice):
    connector, _ = f.oauth2_connector(
        alice.organisation, additionalAuthorizeParams="access_type=offline&hd=example.com"
    )
    credential = f.client_credential(alice.organisation)
    body = f.initialise_body(credential, additionalParams="hd=other.com&login_hint=a%40b.c")
    url = initialise(alice, connector, body).json()["url"]
    q = query(url)
    assert q["access_type"] == ["offline"]
    assert q["hd"] == ["other.com"]
    assert q["login_hint"] == ["a@b.c"]
    names = [pair.split("=")[0] for pair in urlsplit(url).query.split("&")]
    assert names.index("code_challenge_method") < names.index("access_type")


RESERVED = [
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "prompt",
    "code_challenge",
    "code_challenge_method",
    "Client_ID",
    "REDIRECT_URI",
    "State",
    "Scope",
    "PROMPT",
    "Code_Challenge_Method",
]


@pytest.mark.parametrize("name", RESERVED)
def test_it_refuses_additional_params_overriding_a_reserved_parameter(alice, setup, name):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams=f"ok=1&{name}=evil")
    payload = refused(alice, connector, body, code="conflicting_params")
    assert name in payload["message"]
    assert [fe["field"] for fe in payload["fields"]] == ["additionalParams"]
    assert name in payload["fields"][0]["message"]


# Names a provider's query parser reads as a reserved one: whitespace around it (sent
# encoded, as %20 or %09, or as a literal "+"), PHP's "." and " " for "_", array
# brackets, fullwidth letters, a capital S.
DISGUISED = [
    "state%20",
    "%20state",
    "+state",
    "State%E2%80%83",  # an em space
    "%C2%A0scope",  # a no-break space
    "code.challenge",
    "code+challenge_method",
    "state[]",
    "redirect_uri[0]",
    "%EF%BD%93%EF%BD%94%EF%BD%81%EF%BD%94%EF%BD%85",  # fullwidth "state"
]


@pytest.mark.parametrize("name", DISGUISED)
def test_it_refuses_reserved_parameters_however_they_are_disguised(alice, setup, name):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams=f"ok=1&{name}=evil")
    payload = refused(alice, connector, body, code="conflicting_params")
    assert [fe["field"] for fe in payload["fields"]] == ["additionalParams"]
    assert AuthorisationRequest.objects.count() == 0


@pytest.mark.parametrize("name", ["State%09", "%0Astate"])
def test_a_reserved_name_with_a_control_character_is_refused_too(alice, setup, name):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams=f"{name}=evil")
    payload = refused(alice, connector, body, code="invalid_request")
    assert payload["fields"][0]["field"] == "additionalParams"


def test_a_disguised_name_is_shown_quoted(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams="state%20=evil")
    payload = refused(alice, connector, body, code="conflicting_params")
    assert "'state '" in payload["message"]


def test_names_that_only_resemble_reserved_ones_pass(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams="states=1&my_state=2&state-id=3")
    response = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"), body, format="json"
    )
    assert response.status_code == 200, response.json()
    assert "states=1&my_state=2&state-id=3" in response.json()["url"]


@pytest.mark.parametrize("name", ["approval_prompt%20", "Approval.Prompt"])
def test_a_disguised_approval_prompt_still_drops_the_default_prompt(alice, setup, name):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams=f"{name}=force")
    response = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"), body, format="json"
    )
    assert response.status_code == 200, response.json()
    assert "prompt=login" not in response.json()["url"]


@pytest.mark.parametrize("name", ["redirect_uri", "Response_Type", "state", "code_challenge"])
def test_it_refuses_an_authorize_url_carrying_a_reserved_parameter(alice, setup, name):
    connector, _, credential = setup
    body = f.initialise_body(credential, authorizeUrl=f"{f.AUTHORIZE_URL}?{name}=evil")
    payload = refused(alice, connector, body, code="conflicting_params")
    assert payload["fields"][0]["field"] == "authorizeUrl"


def test_it_refuses_config_params_overriding_a_reserved_parameter(alice):
    connector, _ = f.oauth2_connector(
        alice.organisation, additionalAuthorizeParams="redirect_uri=https://evil.example"
    )
    credential = f.client_credential(alice.organisation)
    refused(alice, connector, f.initialise_body(credential), code="conflicting_params")


def test_it_names_every_conflict(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams="state=1&Scope=2")
    payload = refused(alice, connector, body, code="conflicting_params")
    assert sorted(fe["message"] for fe in payload["fields"]) == [
        "Conflicts with Patchbay's own `Scope`.",
        "Conflicts with Patchbay's own `state`.",
    ]


def test_it_refuses_additional_params_over_4_kib(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams="a=" + "b" * 4095)
    refused(alice, connector, body)


# --- Authorize URL --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript://auth.example.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://auth.example.com/authorize",
        "https://user:pass@auth.example.com/authorize",
        "https://user@auth.example.com/authorize",
        "https://auth.example.com/authorize#fragment",
        "https:///authorize",
        "ftp://auth.example.com/authorize",
        "//auth.example.com/authorize",
        "https://auth.example.com:99999/authorize",
        "https://auth.example.com/author ize",
    ],
)
def test_it_refuses_unsafe_authorize_urls(alice, setup, url):
    connector, _, credential = setup
    refused(alice, connector, f.initialise_body(credential, authorizeUrl=url))


def test_it_accepts_http_on_loopback_only_when_allowed(alice, setup, settings):
    connector, _, credential = setup
    body = f.initialise_body(credential, authorizeUrl="http://127.0.0.1:9/authorize")
    settings.PATCHBAY_ALLOW_INSECURE_HTTP = True
    ok(alice, connector, body)
    settings.PATCHBAY_ALLOW_INSECURE_HTTP = False
    refused(alice, connector, body, code="insecure_url")


# --- Redirect URL ------------------------------------------------------------------------------


def test_it_accepts_an_allowed_redirect_url(alice, setup):
    connector, _, credential = setup
    alice.organisation.allowed_redirect_urls = ["https://app.example.com/oauth/done"]
    alice.organisation.save()
    body = f.initialise_body(credential, redirectUrl="https://app.example.com/oauth/done")
    q = ok(alice, connector, body)
    assert q["redirect_uri"] == ["https://app.example.com/oauth/done"]
    assert AuthorisationRequest.objects.get().redirect_uri == "https://app.example.com/oauth/done"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/cb", "http://[::1]:8765/cb", "http://localhost:3000/cb"]
)
def test_it_accepts_a_loopback_redirect_url_when_allowed(alice, setup, settings, url):
    settings.PATCHBAY_ALLOW_LOOPBACK_REDIRECTS = True
    connector, _, credential = setup
    assert ok(alice, connector, f.initialise_body(credential, redirectUrl=url))["redirect_uri"] == [
        url
    ]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/cb", "http://[::1]:8765/cb", "http://localhost:3000/cb"]
)
def test_it_refuses_a_loopback_redirect_url_unless_allowed(alice, setup, settings, url):
    # The production default (DEBUG off): a loopback listener is whoever runs on the
    # machine that holds the browser, not necessarily the organisation's own client.
    settings.PATCHBAY_ALLOW_LOOPBACK_REDIRECTS = False
    connector, _, credential = setup
    payload = refused(
        alice,
        connector,
        f.initialise_body(credential, redirectUrl=url),
        code="redirect_url_not_allowed",
    )
    assert payload["fields"][0]["field"] == "redirectUrl"
    assert "loopback" in payload["message"]


def test_a_listed_loopback_redirect_url_is_accepted_without_the_setting(alice, setup, settings):
    settings.PATCHBAY_ALLOW_LOOPBACK_REDIRECTS = False
    connector, _, credential = setup
    alice.organisation.allowed_redirect_urls = ["http://127.0.0.1:8765/cb"]
    alice.organisation.save()
    q = ok(alice, connector, f.initialise_body(credential, redirectUrl="http://127.0.0.1:8765/cb"))
    assert q["redirect_uri"] == ["http://127.0.0.1:8765/cb"]


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com/oauth/done/",
        "https://app.example.com/oauth/done?x=1",
        "https://APP.example.com/oauth/done",
        "https://evil.example.com/cb",
        "http://localhost.evil.com/cb",
        "http://127.0.0.1@evil.com/cb",
        "javascript:alert(1)",
    ],
)
def test_it_refuses_other_redirect_urls(alice, setup, url):
    connector, _, credential = setup
    alice.organisation.allowed_redirect_urls = ["https://app.example.com/oauth/done"]
    alice.organisation.save()
    refused(alice, connector, f.initialise_body(credential, redirectUrl=url))


# --- Credential, client id, config, connection ------------------------------------------------


def test_it_refuses_another_organisations_credential(alice, charlie, setup):
    connector, _, _ = setup
    theirs = f.client_credential(charlie.organisation)
    body = f.initialise_body(theirs)
    refused(alice, connector, body, status=404)
    body["credential"]["organisationId"] = alice.org_id
    refused(alice, connector, body, status=404)


def test_it_refuses_a_credential_naming_another_organisation(alice, charlie, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential)
    body["credential"]["organisationId"] = charlie.org_id
    refused(alice, connector, body, status=404)


def test_it_refuses_a_credential_that_is_not_an_oauth2_client(alice, setup):
    connector, _, _ = setup
    token = f.token_credential(alice.organisation)
    body = f.initialise_body(token, clientId="client-123")
    refused(alice, connector, body, status=404)


def test_it_refuses_an_expired_credential(alice, setup):
    connector, _, credential = setup
    credential.expires_at = timezone.now() - timedelta(seconds=1)
    credential.save()
    refused(alice, connector, f.initialise_body(credential), status=404)


def test_it_refuses_a_client_id_other_than_the_stored_one(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, clientId="client-1234")
    refused(alice, connector, body, code="client_id_mismatch")


def test_it_picks_the_named_config_among_several(alice):
    connector, _ = f.oauth2_connector(alice.organisation, config_id="first")
    second = f.oauth2_config(connector, config_id="second", defaultScopes=["two"])
    credential = f.client_credential(alice.organisation)
    refused(alice, connector, f.initialise_body(credential), code="auth_scheme_config_required")
    q = ok(alice, connector, f.initialise_body(credential, authSchemeConfigId="second"))
    assert q["scope"] == ["two offline_access"]
    assert AuthorisationRequest.objects.get().auth_scheme_config == second


def test_it_uses_the_only_oauth2_config_beside_others(alice):
    connector, _config = f.oauth2_connector(alice.organisation)
    f.config_of_type(connector, "api-key", "key")
    credential = f.client_credential(alice.organisation)
    ok(alice, connector, f.initialise_body(credential))
    refused(alice, connector, f.initialise_body(credential, authSchemeConfigId="key"))
    refused(alice, connector, f.initialise_body(credential, authSchemeConfigId="nope"), 404)


def test_it_refuses_a_connector_without_an_oauth2_config(alice):
    from connectors.models import Connector

    connector = Connector.objects.create(organisation=alice.organisation, name="Plain")
    credential = f.client_credential(alice.organisation)
    refused(alice, connector, f.initialise_body(credential), code="no_oauth2_config")
    f.config_of_type(connector, "basic-auth", "basic")
    refused(alice, connector, f.initialise_body(credential), code="no_oauth2_config")


def test_it_records_the_connection_to_reauthorise(alice, setup):
    connector, _, credential = setup
    existing = f.connection(alice.organisation, connector)
    ok(alice, connector, f.initialise_body(credential, connectionId=str(existing.pk)))
    assert AuthorisationRequest.objects.get().connection == existing


def test_it_refuses_a_connection_of_another_connector_or_organisation(alice, charlie, setup):
    connector, _, credential = setup
    other_connector, _ = f.oauth2_connector(alice.organisation, name="Other")
    theirs_connector, _ = f.oauth2_connector(charlie.organisation)
    for conn in (
        f.connection(alice.organisation, other_connector),
        f.connection(charlie.organisation, theirs_connector),
    ):
        body = f.initialise_body(credential, connectionId=str(conn.pk))
        refused(alice, connector, body, status=404)


# --- Hostile bodies and ids ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"clientId": "client-123\n"},
        {"prompt": "login\r\nX-Injected: 1"},
        {"scopes": ["read\x07"]},
        {"additionalParams": "a=%0d%0a"},
        {"additionalParams": "a=\x1b"},
        {"redirectUrl": "http://127.0.0.1/\tcb"},
        {"authorizeUrl": f"{f.AUTHORIZE_URL}\x0b"},
        {"credential": {"id": "x\x01", "organisationId": "y"}},
    ],
)
def test_it_refuses_control_characters_anywhere(alice, setup, change):
    connector, _, credential = setup
    refused(alice, connector, f.initialise_body(credential, **change))


def test_it_refuses_nul(alice, setup):
    connector, _, credential = setup
    refused(alice, connector, f.initialise_body(credential, clientId="client\x00-123"))


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"authorizeUrl": f.AUTHORIZE_URL},
        [],
        "string",
        {"unknownField": 1},
    ],
)
def test_it_refuses_incomplete_or_odd_bodies(alice, setup, body):
    connector, _, credential = setup
    if isinstance(body, dict) and "unknownField" in body:
        body = {**f.initialise_body(credential), **body}
    refused(alice, connector, body)


@pytest.mark.parametrize(
    "change",
    [
        {"scopes": "read"},
        {"scopes": [1]},
        {"disableOfflineAccess": "true"},
        {"prompt": 1},
        {"clientId": 123},
        {"credential": "abc"},
    ],
)
def test_it_refuses_wrong_types(alice, setup, change):
    connector, _, credential = setup
    refused(alice, connector, f.initialise_body(credential, **change))


def test_it_refuses_malformed_json(alice, setup):
    connector, _, _ = setup
    response = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
        '{"authorizeUrl": ',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_it_refuses_duplicate_keys(alice, setup):
    connector, _, _ = setup
    response = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
        '{"clientId": "a", "clientId": "b"}',
        content_type="application/json",
    )
    assert response.status_code == 400


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_it_refuses_other_content_types(alice, setup, content_type):
    connector, _, credential = setup
    response = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
        json.dumps(f.initialise_body(credential)),
        content_type=content_type,
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert AuthorisationRequest.objects.count() == 0


def test_it_refuses_an_oversize_body(alice, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential, additionalParams="a=" + "b" * 70_000)
    response = initialise(alice, connector, body)
    assert response.status_code == 413
    assert AuthorisationRequest.objects.count() == 0


@pytest.mark.parametrize("bad", ["1 OR 1=1", "../x", "9" * 40, "' OR ''='"])
@pytest.mark.parametrize("where", ["credential.id", "credential.organisationId", "connectionId"])
def test_it_answers_404_for_hostile_body_ids(alice, setup, bad, where):
    connector, _, credential = setup
    body = f.initialise_body(credential)
    if where == "connectionId":
        body["connectionId"] = bad
    else:
        body["credential"][where.split(".")[1]] = bad
    refused(alice, connector, body, status=404)


# --- Access and cost -----------------------------------------------------------------------------


def test_outsiders_get_404(alice, charlie, setup):
    connector, _, credential = setup
    body = f.initialise_body(credential)
    response = charlie.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"), body, format="json"
    )
    assert response.status_code == 404
    refused(charlie, connector, body, status=404)
    own = f.client_credential(charlie.organisation)
    refused(charlie, connector, f.initialise_body(own), status=404)


def test_anonymous_callers_are_refused(anonymous, alice, setup):
    connector, _, credential = setup
    response = anonymous.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
        f.initialise_body(credential),
        format="json",
    )
    assert response.status_code in (401, 403)
    assert AuthorisationRequest.objects.count() == 0


def test_it_costs_at_most_five_queries(alice, setup, django_assert_max_num_queries):
    connector, _, credential = setup
    existing = f.connection(alice.organisation, connector)
    alice.client.get(alice.url("connections"))  # the key's last-used write happens once a minute
    body = f.initialise_body(credential, connectionId=str(existing.pk))
    with django_assert_max_num_queries(5):
        response = initialise(alice, connector, body)
    assert response.status_code == 200
