from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from connections.models import Connection, ConnectionCredential
from connectors.models import AuthSchemeConfig, Connector
from credentials.models import Credential
from tests.tls import Authority


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CLIENT = Authority("Credentials test CA").issue("client")  # real PEM: the API parses it
PEM_CERT, PEM_KEY = CLIENT.certificate, CLIENT.key
KEY_MATERIAL = PEM_KEY.splitlines()[1]  # a line of the key's base64: grepped for

# (type, data key, inner data, secret values, expected non-secret data)
VALID = [
    ("none", "none", {}, [], {}),
    ("string", "string", {"value": "string-secret-9c1e"}, ["string-secret-9c1e"], {}),
    (
        "binary",
        "binary",
        {"valueBase64": b64("binary-secret-4410")},
        [b64("binary-secret-4410")],
        {},
    ),
    (
        "basic-auth",
        "basicAuth",
        {"username": "ann", "password": "basic-secret-51aa"},
        ["basic-secret-51aa"],
        {"username": "ann"},
    ),
    (
        "oauth2-client",
        "oauth2Client",
        {
            "clientId": "client-1",
            "clientSecret": "client-secret-e2d0",
            "tokenUrl": "https://provider.example.com/token",
            "scopes": ["read", "write"],
            "additionalParams": "audience=api",
            "mTLSEnabled": False,
        },
        ["client-secret-e2d0"],
        {
            "clientId": "client-1",
            "tokenUrl": "https://provider.example.com/token",
            "scopes": ["read", "write"],
            "additionalParams": "audience=api",
            "mTLSEnabled": False,
        },
    ),
    (
        "oauth2-token",
        "oauth2Token",
        {
            "scopes": ["read"],
            "accessToken": "access-secret-77b2",
            "tokenType": "Bearer",
            "expiresAt": "2030-01-01T00:00:00+00:00",
            "refreshToken": "refresh-secret-0c3d",
        },
        ["access-secret-77b2", "refresh-secret-0c3d"],
        {"scopes": ["read"], "tokenType": "Bearer", "expiresAt": "2030-01-01T00:00:00Z"},
    ),
    (
        "oauth2-password",
        "oauth2Password",
        {"username": "bob", "password": "password-secret-a0a0"},
        ["password-secret-a0a0"],
        {"username": "bob"},
    ),
    (
        "certificate",
        "certificate",
        {"certificate": PEM_CERT, "key": PEM_KEY},
        [KEY_MATERIAL],
        {"certificate": PEM_CERT},
    ),
    (
        "oauth1-token",
        "oauth1Token",
        {
            "token": "token-secret-1b1b",
            "tokenSecret": "token-secret-secret-2c2c",
            "additionalParams": {"user_id": "42"},
        },
        ["token-secret-1b1b", "token-secret-secret-2c2c"],
        {"additionalParams": {"user_id": "42"}},
    ),
]

ALL_SECRETS = [s for case in VALID for s in case[3]]


def create(actor, type_, key, inner, **extra):
    body = {"name": f"{type_} credential", "type": type_, "data": {key: inner}, **extra}
    return actor.client.post(actor.url("credentials"), body, format="json")


def raw_table(table: str) -> str:
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return repr(cursor.fetchall())


# --- CRUD ----------------------------------------------------------------------------


@pytest.mark.parametrize(("type_", "key", "inner", "secrets", "visible"), VALID)
def test_it_creates_reads_updates_and_deletes_every_type(
    alice, assert_no_secrets, type_, key, inner, secrets, visible
):
    created = create(alice, type_, key, inner)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["type"] == type_
    assert body["organisationId"] == alice.org_id
    assert body["data"] == {key: visible}
    assert body["errors"] == []
    assert set(body) == {
        "id",
        "organisationId",
        "name",
        "type",
        "data",
        "errors",
        "expiresAt",
        "redactFields",
        "createdAt",
        "updatedAt",
    }
    url = alice.url(f"credentials/{body['id']}")

    read = alice.client.get(url)
    assert read.status_code == 200
    assert read.json() == body

    renamed = alice.client.patch(url, {"name": "renamed"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "renamed"
    stored = Credential.objects.get(pk=body["id"])
    for name in ("password", "clientSecret", "accessToken", "refreshToken", "key", "token"):
        if name in inner:
            assert stored.data[name] == inner[name]  # renaming keeps every secret

    listed = alice.client.get(alice.url("credentials"))
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]

    deleted = alice.client.delete(url)
    assert deleted.status_code == 204
    assert alice.client.get(url).status_code == 404
    assert not Credential.objects.exists()
    texts = [created.content.decode(), read.content.decode(), renamed.content.decode()]
    texts.append(listed.content.decode())
    if secrets:
        assert_no_secrets(*secrets, texts=texts)


def test_it_redacts_default_credential_keys_named_in_redact_fields(alice, assert_no_secrets):
    secret = b64("default-secret-3e3e")
    response = alice.client.post(
        alice.url("credentials"),
        {
            "name": "mixed",
            "type": "default",
            "data": {"default": {"apiKey": secret, "region": b64("eu")}},
            "redactFields": ["apiKey"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["data"] == {"default": {"region": b64("eu")}}
    assert response.json()["redactFields"] == ["apiKey"]
    credential = Credential.objects.get()
    assert credential.data == {"apiKey": secret, "region": b64("eu")}
    read = alice.client.get(alice.url(f"credentials/{credential.pk}"))
    assert_no_secrets(secret, texts=[response.content.decode(), read.content.decode()])


def test_it_keeps_redacted_default_keys_on_put_and_refuses_to_unredact_them(alice):
    secret = b64("default-secret-4f4f")
    credential_id = alice.client.post(
        alice.url("credentials"),
        {"type": "default", "data": {"default": {"k": secret}}, "redactFields": ["k"]},
        format="json",
    ).json()["id"]
    url = alice.url(f"credentials/{credential_id}")
    put = alice.client.put(
        url, {"name": "n", "data": {"default": {"other": b64("x")}}}, format="json"
    )
    assert put.status_code == 200, put.json()
    assert Credential.objects.get().data == {"k": secret, "other": b64("x")}

    unredact = alice.client.patch(url, {"redactFields": []}, format="json")
    assert unredact.status_code == 400
    assert unredact.json()["code"] == "redaction_locked"
    assert secret not in unredact.content.decode()
    assert Credential.objects.get().redact_fields == ["k"]

    replaced = alice.client.patch(
        url, {"redactFields": [], "data": {"default": {"k": b64("public")}}}, format="json"
    )
    assert replaced.status_code == 200
    assert replaced.json()["data"]["default"]["k"] == b64("public")


@pytest.mark.parametrize(
    ("alias", "canonical", "data"),
    [
        ("Default", "default", {"foo": b64("bar")}),
        ("Raw", "string", {"string": {"value": "raw-secret-1"}}),
        ("Raw", "string", {"value": "raw-secret-1"}),
        ("BasicAuth", "basic-auth", {"basicAuth": {"username": "u", "password": "p-secret-1"}}),
        ("OAuth2Refresh", "oauth2-token", {"accessToken": "a-secret", "refreshToken": "r-secret"}),
    ],
)
def test_it_accepts_seed_003_type_names(alice, alias, canonical, data):
    response = alice.client.post(
        alice.url("credentials"), {"name": "legacy", "type": alias, "data": data}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["type"] == canonical
    assert Credential.objects.get().type == canonical


def test_it_refuses_oauth1_input_and_points_to_the_oauth_flow(alice):
    # (oauth2-code is exchanged at once: tests/connections/test_code_credential.py)
    response = alice.client.post(
        alice.url("credentials"),
        {"type": "oauth1", "data": {"oauth1": {"oauthToken": "t", "oauthVerifier": "v"}}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "use_oauth_flow"
    assert not Credential.objects.exists()


# --- updates -----------------------------------------------------------------------


def test_it_keeps_omitted_secret_fields_on_update(alice, assert_no_secrets):
    created = create(alice, "basic-auth", "basicAuth", {"username": "u", "password": "pw-kept-1"})
    url = alice.url(f"credentials/{created.json()['id']}")
    patched = alice.client.patch(url, {"data": {"basicAuth": {"username": "v"}}}, format="json")
    assert patched.status_code == 200
    assert Credential.objects.get().data == {"username": "v", "password": "pw-kept-1"}
    put = alice.client.put(
        url, {"name": "again", "data": {"basicAuth": {"username": "w"}}}, format="json"
    )
    assert put.status_code == 200
    assert Credential.objects.get().data == {"username": "w", "password": "pw-kept-1"}
    assert_no_secrets("pw-kept-1", texts=[patched.content.decode(), put.content.decode()])


def test_it_clears_omitted_non_secret_fields_on_put_but_not_on_patch(alice):
    inner = {"clientId": "c", "clientSecret": "s-secret", "tokenUrl": "https://p.example.com/t"}
    created = create(alice, "oauth2-client", "oauth2Client", inner)
    url = alice.url(f"credentials/{created.json()['id']}")
    alice.client.patch(url, {"data": {"oauth2Client": {"clientId": "c2"}}}, format="json")
    assert Credential.objects.get().data["tokenUrl"] == "https://p.example.com/t"
    alice.client.put(url, {"data": {"oauth2Client": {"clientId": "c3"}}}, format="json")
    assert Credential.objects.get().data == {"clientId": "c3", "clientSecret": "s-secret"}


def test_it_refuses_to_change_a_credential_type(alice):
    created = create(alice, "string", "string", {"value": "v-secret"})
    response = alice.client.patch(
        alice.url(f"credentials/{created.json()['id']}"), {"type": "basic-auth"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "type_immutable"
    assert Credential.objects.get().type == "string"


def test_it_hides_expired_credentials(alice):
    created = create(
        alice,
        "string",
        "string",
        {"value": "v"},
        expiresAt=(timezone.now() + timedelta(hours=1)).isoformat(),
    )
    assert created.status_code == 201, created.json()
    Credential.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert alice.client.get(alice.url(f"credentials/{created.json()['id']}")).status_code == 404
    assert alice.client.get(alice.url("credentials")).json()["items"] == []


def test_it_refuses_to_delete_a_credential_a_connection_uses(alice):
    created = create(alice, "string", "string", {"value": "v"})
    credential = Credential.objects.get()
    connector = Connector.objects.create(organisation=alice.organisation, name="c")
    config = AuthSchemeConfig.objects.create(
        organisation=alice.organisation, connector=connector, config_id="k", type="api-key"
    )
    conn = Connection.objects.create(organisation=alice.organisation, connector=connector, name="x")
    ConnectionCredential.objects.create(
        connection=conn, auth_scheme_config=config, credential=credential
    )
    response = alice.client.delete(alice.url(f"credentials/{created.json()['id']}"))
    assert response.status_code == 409
    assert response.json()["code"] == "credential_in_use"
    assert Credential.objects.count() == 1


def test_it_refuses_to_delete_a_credential_a_connector_grant_names(alice):
    created = create(alice, "oauth2-client", "oauth2Client", {"clientId": "c", "clientSecret": "s"})
    credential_id = created.json()["id"]
    response = alice.client.post(
        alice.url("connectors"),
        {
            "name": "p",
            "authSchemeConfigs": [
                {
                    "id": "oauth",
                    "type": "oauth2",
                    "oauth2": {
                        "authorizeUrl": "https://p.example.com/a",
                        "tokenUrl": "https://p.example.com/t",
                        "grant": {"authorizationCode": {"credentialId": credential_id}},
                    },
                }
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    deleted = alice.client.delete(alice.url(f"credentials/{credential_id}"))
    assert deleted.status_code == 409
    assert deleted.json()["code"] == "credential_in_use"


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"type": "basic-auth", "data": {"basicAuth": {"username": "u"}}},
            "data.basicAuth.password",
        ),
        (
            {"type": "basic-auth", "data": {"basicAuth": {"username": "u\x07", "password": "p"}}},
            "data.basicAuth.username",
        ),
        (
            {"type": "basic-auth", "data": {"basicAuth": {"username": "u", "password": 5}}},
            "data.basicAuth.password",
        ),
        (
            {"type": "binary", "data": {"binary": {"valueBase64": "not base64!"}}},
            "data.binary.valueBase64",
        ),
        (
            {
                "type": "oauth2-client",
                "data": {
                    "oauth2Client": {
                        "clientId": "c",
                        "clientSecret": "s",
                        "tokenUrl": "http://provider.example.com/t",
                    }
                },
            },
            "data.oauth2Client.tokenUrl",
        ),
        (
            {
                "type": "oauth2-client",
                "data": {
                    "oauth2Client": {
                        "clientId": "c",
                        "clientSecret": "s",
                        "tokenUrl": "https://user:pw@provider.example.com/t",
                    }
                },
            },
            "data.oauth2Client.tokenUrl",
        ),
        (
            {
                "type": "oauth2-client",
                "data": {
                    "oauth2Client": {
                        "clientId": "c",
                        "clientSecret": "s",
                        "additionalParams": "a b",
                    }
                },
            },
            "data.oauth2Client.additionalParams",
        ),
        (
            {
                "type": "oauth2-token",
                "data": {"oauth2Token": {"accessToken": "a", "expiresAt": "soon"}},
            },
            "data.oauth2Token.expiresAt",
        ),
        (
            {
                "type": "oauth2-token",
                "data": {"oauth2Token": {"accessToken": "a", "expiresAt": "2030-01-01T00:00:00"}},
            },
            "data.oauth2Token.expiresAt",
        ),
        (  # past the year 9999 once in UTC
            {
                "type": "oauth2-token",
                "data": {
                    "oauth2Token": {"accessToken": "a", "expiresAt": "9999-12-31T23:59:59-01:00"}
                },
            },
            "data.oauth2Token.expiresAt",
        ),
        (
            {
                "type": "string",
                "data": {"string": {"value": "v"}},
                "expiresAt": "0001-01-01T00:00:00+01:00",
            },
            "expiresAt",
        ),
        (
            {
                "type": "oauth2-token",
                "data": {"oauth2Token": {"accessToken": "a", "scopes": ["a b"]}},
            },
            "data.oauth2Token.scopes[0]",
        ),
        ({"type": "string", "data": {"string": {"value": "x" * 20_000}}}, "data.string.value"),
        ({"type": "string", "data": {"string": {"value": "v", "extra": 1}}}, "data.string.extra"),
        ({"type": "string", "data": {"basicAuth": {"value": "v"}}}, "data"),
        ({"type": "string", "data": "v"}, "data"),
        ({"type": "default", "data": {"default": {"k": "%%%"}}}, "data.default.k"),
        (
            {"type": "certificate", "data": {"certificate": {"certificate": "a\x01b", "key": "k"}}},
            "data.certificate.certificate",
        ),
        ({"type": "nope", "data": {}}, "type"),
        ({"data": {}}, "type"),
        ({"type": "none", "name": "x" * 201}, "name"),
        ({"type": "none", "expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"),
        ({"type": "none", "unknown": 1}, "unknown"),
        ({"type": "default", "data": {"default": {}}, "redactFields": "k"}, "redactFields"),
    ],
)
def test_it_rejects_invalid_credentials_and_stores_nothing(alice, body, field):
    response = alice.client.post(alice.url("credentials"), body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()
    assert set(error) <= {"code", "message", "fields"}
    assert field in [f["field"] for f in error["fields"]]
    assert not Credential.objects.exists()


def test_it_never_echoes_a_rejected_value(alice, assert_no_secrets):
    leaked = "leaky-secret-value-\x07"
    response = alice.client.post(
        alice.url("credentials"),
        {"type": "basic-auth", "data": {"basicAuth": {"username": leaked, "password": leaked}}},
        format="json",
    )
    assert response.status_code == 400
    assert_no_secrets("leaky-secret-value", texts=[response.content.decode()])


def test_it_rejects_invalid_updates_and_changes_nothing(alice):
    created = create(alice, "basic-auth", "basicAuth", {"username": "u", "password": "p"})
    url = alice.url(f"credentials/{created.json()['id']}")
    response = alice.client.patch(
        url, {"data": {"basicAuth": {"username": None}}, "name": "changed"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "data.basicAuth.username"
    credential = Credential.objects.get()
    assert credential.name == "basic-auth credential"
    assert credential.data == {"username": "u", "password": "p"}


# --- secrets at rest -----------------------------------------------------------------


def test_it_stores_no_secret_in_plain_text(alice):
    for type_, key, inner, _, _ in VALID:
        assert create(alice, type_, key, inner).status_code == 201
    dump = raw_table("credentials_credential")
    for secret in ALL_SECRETS:
        assert secret not in dump
    # The whole data object is encrypted, not only the secrets; the non-secret fields are
    # also kept in plaintext (``public``), so that answering a credential decrypts nothing.
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT data, public FROM credentials_credential")
        rows = cursor.fetchall()
    assert all("client-1" not in data for data, _public in rows)
    assert any("client-1" in repr(public) for _data, public in rows)


# --- outsiders -----------------------------------------------------------------------


def test_outsiders_get_404_on_every_endpoint_and_change_nothing(alice, charlie):
    created = create(alice, "basic-auth", "basicAuth", {"username": "u", "password": "p-1"})
    credential_id = created.json()["id"]
    detail = alice.url(f"credentials/{credential_id}")
    body = {"name": "pwned", "data": {"basicAuth": {"username": "x", "password": "y"}}}
    attempts = [
        charlie.client.get(alice.url("credentials")),
        charlie.client.post(
            alice.url("credentials"), {"type": "none", "name": "planted"}, format="json"
        ),
        charlie.client.get(detail),
        charlie.client.patch(detail, body, format="json"),
        charlie.client.put(detail, body, format="json"),
        charlie.client.delete(detail),
        # his own organisation in the path, alice's credential id
        charlie.client.get(charlie.url(f"credentials/{credential_id}")),
        charlie.client.patch(charlie.url(f"credentials/{credential_id}"), body, format="json"),
        charlie.client.put(charlie.url(f"credentials/{credential_id}"), body, format="json"),
        charlie.client.delete(charlie.url(f"credentials/{credential_id}")),
    ]
    for response in attempts:
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
        assert "p-1" not in response.content.decode()
    credential = Credential.objects.get()
    assert (credential.name, credential.data) == (
        "basic-auth credential",
        {"username": "u", "password": "p-1"},
    )
    assert charlie.client.get(charlie.url("credentials")).json()["items"] == []


def test_another_organisations_id_in_the_body_is_a_404_and_changes_nothing(alice, charlie):
    created = create(alice, "string", "string", {"value": "v-1"})
    detail = alice.url(f"credentials/{created.json()['id']}")
    foreign = {"organisationId": charlie.org_id}
    attempts = [
        alice.client.post(
            alice.url("credentials"),
            {"type": "none", "name": "planted", **foreign},
            format="json",
        ),
        alice.client.patch(detail, {"name": "moved", **foreign}, format="json"),
        alice.client.put(detail, {**created.json(), "name": "moved", **foreign}, format="json"),
        alice.client.patch(detail, {"name": "moved", "organisationId": "nonsense"}, format="json"),
    ]
    for response in attempts:
        assert response.status_code == 404, response.content
    assert [c.name for c in Credential.objects.all()] == ["string credential"]
    # A GET answer sent back as it is (its own organisationId) is still accepted.
    again = alice.client.put(detail, {**created.json(), "name": "renamed"}, format="json")
    assert again.status_code == 200, again.json()


def test_anonymous_callers_are_refused(alice, anonymous):
    response = anonymous.get(alice.url("credentials"))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


# --- hostile input -------------------------------------------------------------------


def test_it_answers_malformed_json_with_400(alice):
    response = alice.client.post(
        alice.url("credentials"), data='{"type": "none",', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_it_answers_duplicate_keys_with_400(alice):
    response = alice.client.post(
        alice.url("credentials"),
        data='{"type": "none", "type": "string"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert not Credential.objects.exists()


def test_it_answers_a_wrong_content_type_with_415(alice):
    response = alice.client.post(
        alice.url("credentials"), data="type=none", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_it_answers_an_oversize_body_with_413(alice):
    body = json.dumps({"type": "string", "data": {"string": {"value": "x" * 70_000}}})
    response = alice.client.post(
        alice.url("credentials"), data=body, content_type="application/json"
    )
    assert response.status_code == 413
    assert not Credential.objects.exists()


def test_it_refuses_nul_characters(alice):
    response = alice.client.post(
        alice.url("credentials"),
        data=json.dumps({"type": "string", "name": "a\u0000b", "data": {"string": {"value": "v"}}}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert not Credential.objects.exists()


def test_it_refuses_huge_lists(alice):
    response = alice.client.post(
        alice.url("credentials"),
        {"type": "default", "data": {"default": {}}, "redactFields": ["k"] * 5_000},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    scopes = alice.client.post(
        alice.url("credentials"),
        {
            "type": "oauth2-token",
            "data": {"oauth2Token": {"accessToken": "a", "scopes": ["s"] * 5_000}},
        },
        format="json",
    )
    assert scopes.status_code == 400
    assert scopes.json()["code"] == "invalid_request"
    assert not Credential.objects.exists()


# --- pagination and query counts ---------------------------------------------------------


def test_it_paginates_with_first_and_after(alice):
    for index in range(5):
        create(alice, "string", "string", {"value": f"v{index}"})
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params = {"first": 2} if after is None else {"first": 2, "after": after}
        page = alice.client.get(alice.url("credentials"), params).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert sorted(seen) == sorted(str(pk) for pk in Credential.objects.values_list("pk", flat=True))


@pytest.mark.parametrize(("param", "value"), [("after", "garbage"), ("first", "0"), ("first", "x")])
def test_it_refuses_bad_pagination_parameters(alice, param, value):
    response = alice.client.get(alice.url("credentials"), {param: value})
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == param


def test_it_filters_the_list_by_type(alice):
    create(alice, "string", "string", {"value": "v"})
    create(alice, "basic-auth", "basicAuth", {"username": "u", "password": "p"})
    items = alice.client.get(alice.url("credentials"), {"type": "BasicAuth"}).json()["items"]
    assert [item["type"] for item in items] == ["basic-auth"]


def test_it_lists_in_a_fixed_number_of_queries(alice, django_assert_max_num_queries):
    for index in range(10):
        create(alice, "string", "string", {"value": f"v{index}"})
    with django_assert_max_num_queries(3):
        response = alice.client.get(alice.url("credentials"))
    assert len(response.json()["items"]) == 10


def test_the_service_accepts_datetimes_and_keeps_the_refresh_token_on_partial_update(alice):
    from credentials.services import credential_create, credential_update

    expires = timezone.now() + timedelta(hours=1)
    credential = credential_create(
        organisation=alice.organisation,
        name="tokens",
        type="oauth2-token",
        data={"accessToken": "a1", "refreshToken": "r1", "expiresAt": expires},
    )
    credential_update(credential=credential, data={"accessToken": "a2"})
    credential.refresh_from_db()
    assert credential.data["accessToken"] == "a2"
    assert credential.data["refreshToken"] == "r1"
    assert credential.data["expiresAt"].endswith("Z")
