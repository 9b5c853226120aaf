from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.db import connection as db_connection

from connections.models import Connection, ConnectionCredential
from connectors.models import AuthSchemeConfig, Connector
from credentials.models import Credential
from credentials.services import credential_create

CLIENT_SECRET = "grant-client-secret-8d8d"
CONSUMER_SECRET = "consumer-secret-5e5e"


def oauth2(**overrides):
    config = {
        "authorizeUrl": "https://provider.example.com/authorize",
        "tokenUrl": "https://provider.example.com/token",
        "scopes": [{"name": "read", "description": "Read things"}],
        "defaultScopes": ["read"],
        "grant": {
            "type": "authorizationCode",
            "authorizationCode": {"clientId": "client-1", "clientSecret": CLIENT_SECRET},
        },
    }
    config.update(overrides)
    return {"id": "oauth", "type": "oauth2", "oauth2": config}


def endpoint(path):
    return {
        "url": f"https://provider.example.com/{path}",
        "additionalParamConfigs": [
            {
                "parameterName": "scope",
                "targetName": "scope",
                "location": "LOCATION_QUERY",
                "usages": "USAGE_UNKNOWN",
                "required": True,
                "modifiable": False,
            }
        ],
        "parameterTransmission": "AUTH_STYLE_AUTHORIZATION_HEADER",
    }


OAUTH1: dict[str, Any] = {
    "id": "oauth1",
    "type": "oauth1",
    "oauth1": {
        "consumerKey": "consumer-key",
        "consumerSecret": CONSUMER_SECRET,
        "tempCredentialEndpoint": endpoint("request_token"),
        "resourceOwnerAuthorizationEndpoint": endpoint("authorize"),
        "tokenEndpoint": endpoint("access_token"),
        "signatureMethod": "HMAC-SHA256",
        "tokenAuth": True,
    },
}

ALL_TYPES = [
    {"id": "plain", "type": "none"},
    {"id": "key", "type": "api-key", "apiKey": {"name": "X-Api-Key", "in": "header"}},
    {"id": "basic", "type": "basic-auth", "basicAuth": {}},
    oauth2(),
    OAUTH1,
    {
        "id": "signed",
        "type": "hmac",
        "hmac": {
            "name": "X-Signature",
            "in": "header",
            "algorithm": "sha512",
            "digestInputs": ["body", "timestamp"],
            "encoding": "base64url",
        },
    },
    {"id": "mtls", "type": "certificate", "certificate": {}},
]


def create_connector(actor, name="Provider", configs=None, **extra):
    body = {"name": name, "baseUrl": "https://api.example.com", **extra}
    if configs is not None:
        body["authSchemeConfigs"] = configs
    return actor.client.post(actor.url("connectors"), body, format="json")


def counts():
    return (Connector.objects.count(), AuthSchemeConfig.objects.count(), Credential.objects.count())


def raw_table(table: str) -> str:
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return repr(cursor.fetchall())


def connect(actor, connector_id, config_id):
    connector = Connector.objects.get(pk=connector_id)
    config = AuthSchemeConfig.objects.get(connector=connector, config_id=config_id)
    credential = credential_create(organisation=actor.organisation, name="c", type="none", data={})
    connection = Connection.objects.create(
        organisation=actor.organisation, connector=connector, name="conn"
    )
    ConnectionCredential.objects.create(
        connection=connection, auth_scheme_config=config, credential=credential
    )
    return connection


# --- CRUD -----------------------------------------------------------------------------


def test_it_creates_a_connector_with_every_auth_scheme_type(alice, assert_no_secrets):
    response = create_connector(alice, configs=ALL_TYPES)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "name", "baseUrl", "authSchemeConfigs", "createdAt", "updatedAt"}
    configs = {c["id"]: c for c in body["authSchemeConfigs"]}
    assert [c["id"] for c in body["authSchemeConfigs"]] == [c["id"] for c in ALL_TYPES]
    typed = {
        "plain": "none",
        "key": "apiKey",
        "basic": "basicAuth",
        "oauth": "oauth2",
        "oauth1": "oauth1",
        "signed": "hmac",
        "mtls": "certificate",
    }
    for config_id, key in typed.items():
        config = configs[config_id]
        assert set(config) == {"id", "type", "description", "validationMessages", key}
    assert configs["key"]["apiKey"] == {"name": "X-Api-Key", "in": "header"}
    assert configs["signed"]["hmac"]["encoding"] == "base64url"
    assert "consumerSecret" not in configs["oauth1"]["oauth1"]
    assert configs["oauth1"]["oauth1"]["signatureMethod"] == "HMAC-SHA256"
    stored = AuthSchemeConfig.objects.get(config_id="oauth1")
    assert stored.secrets == {"consumerSecret": CONSUMER_SECRET}
    assert "consumerSecret" not in stored.settings

    read = alice.client.get(alice.url(f"connectors/{body['id']}"))
    assert read.status_code == 200
    assert read.json() == body
    assert_no_secrets(
        CLIENT_SECRET, CONSUMER_SECRET, texts=[response.content.decode(), read.content.decode()]
    )


def test_it_fills_oauth2_defaults_and_computes_validation_messages(alice):
    config = {
        "id": "o",
        "type": "oauth2",
        "validationMessages": [{"text": "ignored", "severity": "error", "detail": []}],
        "oauth2": {
            "authorizeUrl": "https://p.example.com/a",
            "tokenUrl": "https://p.example.com/t",
            "pkce": False,
        },
    }
    response = create_connector(alice, configs=[config])
    assert response.status_code == 201, response.json()
    stored = response.json()["authSchemeConfigs"][0]
    settings = stored["oauth2"]
    assert settings["scopeSeparator"] == " "
    assert settings["tokenAuthMethod"] == "client_secret_basic"
    assert settings["refreshMarginSeconds"] == 300
    assert settings["pkce"] is False
    assert settings["grant"] == {"type": "authorizationCode"}
    severities = {m["severity"] for m in stored["validationMessages"]}
    assert severities == {"error", "warning", "info"}  # no client, PKCE off, no default scopes
    assert all(m["text"] != "ignored" for m in stored["validationMessages"])


def test_it_updates_and_deletes_a_connector(alice):
    connector_id = create_connector(alice, configs=[oauth2()]).json()["id"]
    url = alice.url(f"connectors/{connector_id}")
    patched = alice.client.patch(url, {"name": "Renamed", "baseUrl": ""}, format="json")
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["name"], patched.json()["baseUrl"]) == ("Renamed", "")
    assert len(patched.json()["authSchemeConfigs"]) == 1

    replaced = alice.client.patch(
        url,
        {"authSchemeConfigs": [{"id": "key", "type": "api-key", "apiKey": {"name": "k"}}]},
        format="json",
    )
    assert replaced.status_code == 200, replaced.json()
    assert [c["id"] for c in replaced.json()["authSchemeConfigs"]] == ["key"]

    assert alice.client.delete(url).status_code == 204
    assert alice.client.get(url).status_code == 404
    assert not AuthSchemeConfig.objects.exists()


def test_it_refuses_duplicate_connector_names(alice):
    assert create_connector(alice, name="Same").status_code == 201
    response = create_connector(alice, name="Same")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert [f["field"] for f in response.json()["fields"]] == ["name"]
    other = create_connector(alice, name="Other").json()["id"]
    renamed = alice.client.patch(alice.url(f"connectors/{other}"), {"name": "Same"}, format="json")
    assert renamed.status_code == 409
    assert renamed.json()["code"] == "conflict"
    assert [f["field"] for f in renamed.json()["fields"]] == ["name"]
    assert Connector.objects.filter(name="Same").count() == 1


def test_it_refuses_to_delete_a_connector_with_connections(alice):
    connector_id = create_connector(alice, configs=[oauth2()]).json()["id"]
    connect(alice, connector_id, "oauth")
    response = alice.client.delete(alice.url(f"connectors/{connector_id}"))
    assert response.status_code == 409
    assert response.json()["code"] == "connector_in_use"
    assert Connector.objects.count() == 1


# --- auth scheme configs -----------------------------------------------------------------


def test_it_puts_and_deletes_an_auth_scheme_config_by_client_chosen_id(alice):
    connector_id = create_connector(alice).json()["id"]
    url = alice.url(f"connectors/{connector_id}/auth-scheme-configs/api-key.v1")
    created = alice.client.put(
        url, {"type": "api-key", "apiKey": {"name": "key", "in": "query"}}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["id"] == "api-key.v1"
    replaced = alice.client.put(
        url,
        {"id": "api-key.v1", "type": "hmac", "description": "now signed", "hmac": {"name": "Sig"}},
        format="json",
    )
    assert replaced.status_code == 200, replaced.json()
    assert replaced.json()["hmac"] == {
        "name": "Sig",
        "in": "header",
        "algorithm": "sha256",
        "digestInputs": ["body"],
        "encoding": "hex",
    }
    connector = alice.client.get(alice.url(f"connectors/{connector_id}")).json()
    assert [c["id"] for c in connector["authSchemeConfigs"]] == ["api-key.v1"]
    assert alice.client.delete(url).status_code == 204
    assert alice.client.delete(url).status_code == 404
    assert not AuthSchemeConfig.objects.exists()


def test_it_refuses_a_body_id_that_differs_from_the_path(alice):
    connector_id = create_connector(alice).json()["id"]
    response = alice.client.put(
        alice.url(f"connectors/{connector_id}/auth-scheme-configs/a"),
        {"id": "b", "type": "none"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "id"
    assert not AuthSchemeConfig.objects.exists()


def test_it_keeps_the_consumer_secret_when_a_put_omits_it(alice):
    connector_id = create_connector(alice, configs=[OAUTH1]).json()["id"]
    again = copy.deepcopy(OAUTH1)
    del again["oauth1"]["consumerSecret"]
    again["oauth1"]["consumerKey"] = "new-key"
    response = alice.client.put(
        alice.url(f"connectors/{connector_id}/auth-scheme-configs/oauth1"), again, format="json"
    )
    assert response.status_code == 200, response.json()
    stored = AuthSchemeConfig.objects.get()
    assert stored.settings["consumerKey"] == "new-key"
    assert stored.secrets == {"consumerSecret": CONSUMER_SECRET}


def test_it_refuses_to_delete_a_config_a_connection_uses(alice):
    connector_id = create_connector(alice, configs=[oauth2()]).json()["id"]
    connect(alice, connector_id, "oauth")
    response = alice.client.delete(
        alice.url(f"connectors/{connector_id}/auth-scheme-configs/oauth")
    )
    assert response.status_code == 409
    assert response.json()["code"] == "auth_scheme_config_in_use"
    dropped = alice.client.patch(
        alice.url(f"connectors/{connector_id}"), {"authSchemeConfigs": []}, format="json"
    )
    assert dropped.status_code == 409
    assert dropped.json()["code"] == "auth_scheme_config_in_use"
    assert AuthSchemeConfig.objects.count() == 1


def test_a_patch_cannot_change_the_type_of_a_config_a_connection_uses(alice):
    connector_id = create_connector(alice, configs=[oauth2()]).json()["id"]
    connect(alice, connector_id, "oauth")
    retyped = {"id": "oauth", "type": "api-key", "apiKey": {"name": "X-Key", "in": "header"}}
    response = alice.client.patch(
        alice.url(f"connectors/{connector_id}"), {"authSchemeConfigs": [retyped]}, format="json"
    )
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "auth_scheme_config_in_use"
    assert AuthSchemeConfig.objects.get().type == "oauth2"


def test_put_keeps_to_the_limit_of_configs_per_connector(alice):
    from connectors.services import MAX_AUTH_SCHEME_CONFIGS

    connector_id = create_connector(alice, configs=[]).json()["id"]
    none = {"type": "none", "none": {}}
    for n in range(MAX_AUTH_SCHEME_CONFIGS):
        url = alice.url(f"connectors/{connector_id}/auth-scheme-configs/c{n}")
        assert alice.client.put(url, none, format="json").status_code in (200, 201)
    one_more = alice.client.put(
        alice.url(f"connectors/{connector_id}/auth-scheme-configs/extra"), none, format="json"
    )
    assert one_more.status_code == 400, one_more.json()
    assert one_more.json()["code"] == "limit_reached"
    assert AuthSchemeConfig.objects.count() == MAX_AUTH_SCHEME_CONFIGS
    # Replacing one that exists is still fine.
    again = alice.client.put(
        alice.url(f"connectors/{connector_id}/auth-scheme-configs/c0"), none, format="json"
    )
    assert again.status_code == 200


# --- the oauth2 grant rule ---------------------------------------------------------------


@pytest.mark.parametrize("grant", ["authorizationCode", "clientCredentials", "password"])
def test_it_stores_a_grant_client_secret_in_an_oauth2_client_credential(
    alice, assert_no_secrets, grant
):
    config = oauth2(
        grant={"type": grant, grant: {"clientId": "client-9", "clientSecret": CLIENT_SECRET}}
    )
    response = create_connector(alice, configs=[config])
    assert response.status_code == 201, response.json()
    entry = response.json()["authSchemeConfigs"][0]["oauth2"]["grant"][grant]
    credential = Credential.objects.get(type="oauth2-client")
    assert entry == {
        "credentialId": str(credential.pk),
        "organisationId": alice.org_id,
        "clientId": "client-9",
    }
    assert credential.organisation == alice.organisation
    assert credential.data == {
        "clientId": "client-9",
        "clientSecret": CLIENT_SECRET,
        "tokenUrl": "https://provider.example.com/token",
        "scopes": ["read"],
    }
    stored = AuthSchemeConfig.objects.get()
    assert CLIENT_SECRET not in json.dumps(stored.settings)
    assert_no_secrets(
        CLIENT_SECRET,
        texts=[
            response.content.decode(),
            raw_table("connectors_authschemeconfig"),
            raw_table("credentials_credential"),
        ],
    )
    assert CONSUMER_SECRET not in raw_table("connectors_authschemeconfig")


def test_it_accepts_a_grant_credential_of_the_same_organisation(alice):
    credential = alice.client.post(
        alice.url("credentials"),
        {
            "type": "oauth2-client",
            "data": {"oauth2Client": {"clientId": "cid", "clientSecret": "s"}},
        },
        format="json",
    ).json()
    config = oauth2(
        grant={
            "authorizationCode": {"credentialId": credential["id"], "organisationId": alice.org_id}
        }
    )
    response = create_connector(alice, configs=[config])
    assert response.status_code == 201, response.json()
    grant = response.json()["authSchemeConfigs"][0]["oauth2"]["grant"]
    assert grant["authorizationCode"]["clientId"] == "cid"
    assert Credential.objects.count() == 1
    assert response.json()["authSchemeConfigs"][0]["validationMessages"] == []


def test_it_refuses_a_client_id_that_differs_from_the_grant_credential(alice):
    credential = alice.client.post(
        alice.url("credentials"),
        {
            "type": "oauth2-client",
            "data": {"oauth2Client": {"clientId": "cid", "clientSecret": "s"}},
        },
        format="json",
    ).json()
    config = oauth2(
        grant={"authorizationCode": {"credentialId": credential["id"], "clientId": "other"}}
    )
    response = create_connector(alice, configs=[config])
    assert response.status_code == 400
    assert response.json()["code"] == "client_id_mismatch"
    assert not Connector.objects.exists()


def test_it_answers_404_for_a_grant_credential_of_another_organisation(alice, charlie):
    theirs = charlie.client.post(
        charlie.url("credentials"),
        {"type": "oauth2-client", "data": {"oauth2Client": {"clientId": "c", "clientSecret": "s"}}},
        format="json",
    ).json()["id"]
    before = counts()
    for grant in (
        {"authorizationCode": {"credentialId": theirs}},
        {"authorizationCode": {"credentialId": theirs, "organisationId": charlie.org_id}},
        {
            "authorizationCode": {
                "clientId": "c",
                "clientSecret": "s",
                "organisationId": charlie.org_id,
            }
        },
    ):
        response = create_connector(alice, configs=[oauth2(grant=grant)])
        assert response.status_code == 404, response.json()
        assert response.json()["code"] == "not_found"
    assert counts() == before


def test_it_answers_404_for_a_grant_credential_of_the_wrong_type(alice):
    string = alice.client.post(
        alice.url("credentials"),
        {"type": "string", "data": {"string": {"value": "v"}}},
        format="json",
    ).json()["id"]
    response = create_connector(
        alice, configs=[oauth2(grant={"authorizationCode": {"credentialId": string}})]
    )
    assert response.status_code == 404
    assert not Connector.objects.exists()


def test_it_leaves_no_credential_behind_when_a_later_config_is_refused(alice, charlie):
    configs = [oauth2(), {"id": "x", "type": "oauth2", "oauth2": {"tokenUrl": "ftp://x"}}]
    response = create_connector(alice, configs=configs)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert counts() == (0, 0, 0)
    # a 404 raised after the first config created its credential rolls it back too
    configs = [
        oauth2(),
        {
            **oauth2(
                grant={
                    "authorizationCode": {"credentialId": "00000000-0000-0000-0000-000000000000"}
                }
            ),
            "id": "second",
        },
    ]
    assert create_connector(alice, configs=configs).status_code == 404
    assert counts() == (0, 0, 0)


# --- validation -----------------------------------------------------------------------


def with_oauth2(**fields):
    return oauth2(**fields)


INVALID = [
    (with_oauth2(authorizeUrl="http://provider.example.com/a"), "oauth2.authorizeUrl"),
    (with_oauth2(authorizeUrl="https://user:pw@provider.example.com/a"), "oauth2.authorizeUrl"),
    (with_oauth2(authorizeUrl="https://provider.example.com/a#frag"), "oauth2.authorizeUrl"),
    (with_oauth2(authorizeUrl="/relative"), "oauth2.authorizeUrl"),
    (with_oauth2(tokenUrl="javascript:alert(1)"), "oauth2.tokenUrl"),
    (with_oauth2(tokenUrl=None), "oauth2.tokenUrl"),
    (with_oauth2(scopeSeparator="ab"), "oauth2.scopeSeparator"),
    (with_oauth2(scopeSeparator="a"), "oauth2.scopeSeparator"),
    (with_oauth2(refreshMarginSeconds=90_000), "oauth2.refreshMarginSeconds"),
    (with_oauth2(refreshMarginSeconds="300"), "oauth2.refreshMarginSeconds"),
    (with_oauth2(tokenAuthMethod="private_key_jwt"), "oauth2.tokenAuthMethod"),
    (with_oauth2(additionalAuthorizeParams="a=" + "x" * 4100), "oauth2.additionalAuthorizeParams"),
    (with_oauth2(additionalTokenParams="a b"), "oauth2.additionalTokenParams"),
    (with_oauth2(defaultScopes=["read write"]), "oauth2.defaultScopes[0]"),
    (with_oauth2(pkce="yes"), "oauth2.pkce"),
    (with_oauth2(issParameterSupported=True), "oauth2.issuer"),
    (with_oauth2(grant={"type": "implicit"}), "oauth2.grant.type"),
    (
        with_oauth2(grant={"authorizationCode": {"clientId": "only-id"}}),
        "oauth2.grant.authorizationCode",
    ),
    (with_oauth2(unknownSetting=1), "oauth2.unknownSetting"),
    ({"id": "k", "type": "api-key", "apiKey": {"name": "X Key", "in": "header"}}, "apiKey.name"),
    ({"id": "k", "type": "api-key", "apiKey": {"name": "k", "in": "body"}}, "apiKey.in"),
    ({"id": "h", "type": "hmac", "hmac": {"name": "s", "algorithm": "md5"}}, "hmac.algorithm"),
    (
        {"id": "h", "type": "hmac", "hmac": {"name": "s", "digestInputs": ["headers"]}},
        "hmac.digestInputs[0]",
    ),
    ({"id": "h", "type": "hmac", "hmac": {"name": "s", "in": "cookie"}}, "hmac.in"),
    ({"id": "h", "type": "hmac", "hmac": {"name": "s", "encoding": "base32"}}, "hmac.encoding"),
    (
        {**OAUTH1, "oauth1": {**OAUTH1["oauth1"], "signatureMethod": "MD5"}},
        "oauth1.signatureMethod",
    ),
    (
        {
            **OAUTH1,
            "oauth1": {**OAUTH1["oauth1"], "tokenEndpoint": {"url": "http://x.example.com"}},
        },
        "oauth1.tokenEndpoint.url",
    ),
    ({**OAUTH1, "oauth1": {**OAUTH1["oauth1"], "tokenEndpoint": None}}, "oauth1.tokenEndpoint"),
    ({"id": "n", "type": "none", "none": {"extra": 1}}, "none.extra"),
    ({"id": "n", "type": "none", "apiKey": {"name": "k"}}, "apiKey"),
    ({"id": "n", "type": "kerberos"}, "type"),
    ({"id": "has space", "type": "none"}, "id"),
    ({"id": "n", "type": "none", "description": "x" * 1001}, "description"),
]


@pytest.mark.parametrize(("config", "field"), INVALID)
def test_it_rejects_invalid_auth_scheme_configs_and_stores_nothing(alice, config, field):
    response = create_connector(alice, configs=[config])
    assert response.status_code == 400, response.json()
    fields = [f["field"] for f in response.json()["fields"]]
    assert f"authSchemeConfigs[0].{field}" in fields
    assert counts() == (0, 0, 0)
    if field == "id":
        return  # the PUT below takes its id from the path
    connector_id = create_connector(alice, name="Target").json()["id"]
    put = alice.client.put(
        alice.url(f"connectors/{connector_id}/auth-scheme-configs/x"),
        {k: v for k, v in config.items() if k != "id"},
        format="json",
    )
    assert put.status_code == 400
    assert put.json()["code"] == "invalid_request"
    assert not AuthSchemeConfig.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "a\x07"}, "name"),
        ({"name": "ok", "baseUrl": "not a url"}, "baseUrl"),
        ({"name": "ok", "authSchemeConfigs": {"id": "a"}}, "authSchemeConfigs"),
        (
            {"name": "ok", "authSchemeConfigs": [{"id": "a", "type": "none"}] * 2},
            "authSchemeConfigs[1].id",
        ),
        ({"name": "ok", "surprise": 1}, "surprise"),
    ],
)
def test_it_rejects_invalid_connectors(alice, body, field):
    response = alice.client.post(alice.url("connectors"), body, format="json")
    assert response.status_code == 400
    assert field in [f["field"] for f in response.json()["fields"]]
    assert counts() == (0, 0, 0)


def test_it_accepts_http_on_loopback_only_when_insecure_http_is_allowed(alice, settings):
    loopback = with_oauth2(
        authorizeUrl="http://127.0.0.1:8000/authorize", tokenUrl="http://localhost/token"
    )
    settings.PATCHBAY_ALLOW_INSECURE_HTTP = False
    assert create_connector(alice, configs=[loopback]).status_code == 400
    settings.PATCHBAY_ALLOW_INSECURE_HTTP = True
    response = create_connector(alice, configs=[loopback])
    assert response.status_code == 201, response.json()
    messages = response.json()["authSchemeConfigs"][0]["validationMessages"]
    assert any("not https" in m["text"] for m in messages)


def test_it_accepts_seed_004_nesting_of_id_and_description(alice):
    config = {
        "type": "api-key",
        "apiKey": {"id": "nested", "description": "from seed 004", "name": "k", "in": "query"},
    }
    response = create_connector(alice, configs=[config])
    assert response.status_code == 201, response.json()
    stored = response.json()["authSchemeConfigs"][0]
    assert (stored["id"], stored["description"]) == ("nested", "from seed 004")
    assert stored["apiKey"] == {"name": "k", "in": "query"}


# --- outsiders -----------------------------------------------------------------------


def test_outsiders_get_404_on_every_endpoint_and_change_nothing(alice, charlie):
    connector_id = create_connector(alice, configs=[oauth2(), OAUTH1]).json()["id"]
    before = counts()
    snapshot = alice.client.get(alice.url(f"connectors/{connector_id}")).json()
    config = {"type": "none"}
    attempts = []
    for actor_url in (alice.url, charlie.url):
        attempts += [
            charlie.client.get(actor_url(f"connectors/{connector_id}")),
            charlie.client.patch(
                actor_url(f"connectors/{connector_id}"), {"name": "x"}, format="json"
            ),
            charlie.client.delete(actor_url(f"connectors/{connector_id}")),
            charlie.client.put(
                actor_url(f"connectors/{connector_id}/auth-scheme-configs/oauth"),
                config,
                format="json",
            ),
            charlie.client.put(
                actor_url(f"connectors/{connector_id}/auth-scheme-configs/new"),
                config,
                format="json",
            ),
            charlie.client.delete(
                actor_url(f"connectors/{connector_id}/auth-scheme-configs/oauth")
            ),
        ]
    attempts += [
        charlie.client.get(alice.url("connectors")),
        charlie.client.post(alice.url("connectors"), {"name": "planted"}, format="json"),
    ]
    for response in attempts:
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
    assert counts() == before
    assert alice.client.get(alice.url(f"connectors/{connector_id}")).json() == snapshot
    assert charlie.client.get(charlie.url("connectors")).json()["items"] == []


# --- hostile input -------------------------------------------------------------------


def test_it_answers_hostile_config_ids(alice):
    connector_id = create_connector(alice).json()["id"]
    for bad in ("1%20OR%201=1", "%27%3B--", "x" * 300):
        url = alice.url(f"connectors/{connector_id}/auth-scheme-configs/{bad}")
        put = alice.client.put(url, {"type": "none"}, format="json")
        assert put.status_code in (400, 404), put.content
        assert put.json()["code"] in ("invalid_request", "not_found")
        assert alice.client.delete(url).status_code == 404
    assert not AuthSchemeConfig.objects.exists()


def test_it_refuses_malformed_json_wrong_content_types_and_oversize_bodies(alice):
    url = alice.url("connectors")
    assert alice.client.post(url, data="{", content_type="application/json").status_code == 400
    assert (
        alice.client.post(url, data='{"name": "a", "name": "b"}', content_type="application/json")
    ).status_code == 400
    assert alice.client.post(url, data="name=a", content_type="text/plain").status_code == 415
    huge = json.dumps({"name": "a", "baseUrl": "https://x.example.com/" + "a" * 70_000})
    assert alice.client.post(url, data=huge, content_type="application/json").status_code == 413
    nul = json.dumps({"name": "a\u0000"})
    assert alice.client.post(url, data=nul, content_type="application/json").status_code == 400
    many = [{"id": f"c{i}", "type": "none"} for i in range(1000)]
    assert create_connector(alice, configs=many).status_code == 400
    scopes = with_oauth2(defaultScopes=[f"s{i}" for i in range(1000)])
    assert create_connector(alice, configs=[scopes]).status_code == 400
    assert counts() == (0, 0, 0)


# --- pagination and query counts ---------------------------------------------------------


def test_it_paginates_connectors(alice):
    for index in range(3):
        create_connector(alice, name=f"c{index}")
    first = alice.client.get(alice.url("connectors"), {"first": 2}).json()
    assert len(first["items"]) == 2
    assert first["pageInfo"]["hasNextPage"] is True
    rest = alice.client.get(
        alice.url("connectors"), {"first": 2, "after": first["pageInfo"]["endCursor"]}
    ).json()
    assert len(rest["items"]) == 1
    assert rest["pageInfo"]["hasNextPage"] is False
    assert alice.client.get(alice.url("connectors"), {"after": "!!"}).status_code == 400


def test_it_reads_a_connector_in_a_fixed_number_of_queries(alice, django_assert_max_num_queries):
    connector_id = create_connector(alice, configs=ALL_TYPES).json()["id"]
    with django_assert_max_num_queries(3):
        response = alice.client.get(alice.url(f"connectors/{connector_id}"))
    assert len(response.json()["authSchemeConfigs"]) == len(ALL_TYPES)


def test_it_lists_connectors_in_a_fixed_number_of_queries(alice, django_assert_max_num_queries):
    for index in range(6):
        configs = [{**c, "id": f"{c['id']}"} for c in ALL_TYPES[:3]]
        create_connector(alice, name=f"c{index}", configs=configs)
    with django_assert_max_num_queries(3):
        response = alice.client.get(alice.url("connectors"))
    assert len(response.json()["items"]) == 6
