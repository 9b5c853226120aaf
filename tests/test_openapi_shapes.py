"""The OpenAPI document describes what the API really answers.

Each test makes real requests and validates the answers against the schema the document
gives for that very operation and status code (``$ref``s resolved against the whole
document). Response components are closed objects (``additionalProperties: false``), so
an undocumented key fails as surely as a missing or mistyped one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT4

from connections.models import ConnectionCredential
from connectors.models import Connector
from credentials.types import CREDENTIAL_TYPES
from tests.connections import factories as f
from tests.connections.conftest import no_network, token_endpoint  # noqa: F401
from tests.embed.conftest import (  # noqa: F401
    EmbedHub,
    embed,
    embed_client,
    hub,
    initialise_body,
    session_token,
)

ROOT = "urn:patchbay:openapi"
ORG = "/api/v2/o/{organisation_id}"
EMBED = "/api/v2/embed/{hub_id}"

# Secret fields: none may be a property of any response schema...
SECRETS = {name for spec in CREDENTIAL_TYPES.values() for name in spec.secret_fields} | {
    "consumerSecret",
    "secret",
    "oauthToken",
    "oauthVerifier",
}
# ...except where the API's purpose is to hand that very secret out, once.
ALLOWED_SECRETS = {
    "connections_access_token": {"accessToken"},
    "webhooks_create": {"secret"},
    "webhooks_rotate_secret": {"secret"},
    "hub_sessions_create": {"token"},
    "embed_session_exchange": {"token"},  # the session a company-signed token was traded for
}


# --- The document and the validator -------------------------------------------------


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: ``nullable: true`` becomes ``anyOf [..., null]``."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items()}
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _anchored(node: Any) -> Any:
    """Local ``#/…`` refs of an operation's schema → refs into the registered document."""
    if isinstance(node, list):
        return [_anchored(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: (ROOT + value if key == "$ref" and value.startswith("#") else _anchored(value))
        for key, value in node.items()
    }


class Document:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.schema = _json_schema(raw)
        self.registry: Registry = Registry().with_resource(
            ROOT, DRAFT4.create_resource(self.schema)
        )

    def operation(self, path: str, method: str) -> dict[str, Any]:
        assert path in self.raw["paths"], f"{path} is not documented"
        operation = self.schema["paths"][path].get(method)
        assert operation is not None, f"{method.upper()} {path} is not documented"
        return operation

    def response_schema(self, path: str, method: str, status: int) -> dict[str, Any]:
        responses = self.operation(path, method)["responses"]
        assert str(status) in responses, (
            f"{method.upper()} {path} does not document {status}: {sorted(responses)}"
        )
        return responses[str(status)]["content"]["application/json"]["schema"]

    def check(self, path: str, method: str, response: Any, status: int) -> dict[str, Any]:
        """The response has ``status`` and its body matches the documented schema."""
        assert response.status_code == status, response.content[:500]
        body = json.loads(response.content)
        validator = jsonschema.Draft4Validator(
            _anchored(self.response_schema(path, method, status)), registry=self.registry
        )
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, (
            f"{method.upper()} {path} {status} does not match its schema:\n"
            + "\n".join(f"  at {list(e.path)}: {e.message[:300]}" for e in errors[:10])
        )
        return dict(body)

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.raw["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return node

    def properties(
        self, node: dict[str, Any], seen: set[str] | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every (name, schema) of a property reachable from ``node`` (refs, oneOf/allOf/anyOf,
        items, additionalProperties)."""
        seen = set() if seen is None else seen
        ref = node.get("$ref")
        if ref is not None:
            if ref in seen:
                return
            seen.add(ref)
        node = self.resolve(node)
        for name, child in (node.get("properties") or {}).items():
            yield name, child
            yield from self.properties(child, seen)
        for key in ("oneOf", "allOf", "anyOf"):
            for child in node.get(key) or []:
                yield from self.properties(child, seen)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                yield from self.properties(node[key], seen)

    def secrets_in(self, node: dict[str, Any]) -> set[str]:
        """Secret field names documented as values (an object named `password` is the
        password grant's settings, not a secret)."""
        return {
            name
            for name, child in self.properties(node)
            if name in SECRETS and self.resolve(child).get("type") != "object"
        }


@pytest.fixture
def doc(client, db) -> Document:
    # `?format=json` is off (URL_FORMAT_OVERRIDE is None): ask by Accept header.
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return Document(response.json())


def _operations(doc: Document) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc.raw["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


# --- The document itself ------------------------------------------------------------


def test_no_operation_documents_a_bare_object(doc):
    for path, method, operation in _operations(doc):
        bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
        for body in bodies:
            for media in (body.get("content") or {}).values():
                schema = doc.resolve(media["schema"])
                if schema == {"type": "string", "format": "binary"}:
                    continue  # raw bytes, as the proxy passes them: not an object at all
                assert schema.get("properties") or schema.get("oneOf"), (
                    f"{method.upper()} {path}: a body documented as a bare object"
                )


def test_every_error_response_has_the_error_shape(doc):
    documented = set()
    for path, method, operation in _operations(doc):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                documented.add(int(status))
                schema = doc.resolve(response["content"]["application/json"]["schema"])
                assert {"code", "message"} <= set(schema["required"]), (path, method, status)
                assert "fields" in schema["properties"]
    assert {400, 401, 404, 409, 413, 415, 502} <= documented


def test_no_response_schema_documents_a_secret(doc):
    checked = 0
    for path, method, operation in _operations(doc):
        allowed = ALLOWED_SECRETS.get(operation["operationId"], set())
        for status, response in operation["responses"].items():
            for media in (response.get("content") or {}).values():
                leaked = doc.secrets_in(media["schema"]) - allowed
                assert not leaked, f"{method.upper()} {path} {status} documents {leaked}"
                checked += 1
    assert checked > 100
    # The check itself sees secrets: request bodies document them (write-only).
    credential = doc.raw["paths"][f"{ORG}/credentials"]["post"]["requestBody"]
    assert {"value", "password", "clientSecret", "accessToken", "refreshToken"} <= doc.secrets_in(
        credential["content"]["application/json"]["schema"]
    )
    access = doc.raw["paths"][f"{ORG}/connections/{{connection_id}}/access-token"]["get"]
    assert doc.secrets_in(access["responses"]["200"]["content"]["application/json"]["schema"]) == {
        "accessToken"
    }


def test_secret_fields_are_documented_write_only_in_requests(doc):
    components = doc.raw["components"]["schemas"]
    assert components["StringCredentialDataRequest"]["properties"]["value"]["writeOnly"]
    assert "value" not in components.get("StringCredentialData", {}).get("properties", {})
    assert components["CredentialString"]["properties"]["data"]
    client = components["Oauth2ClientCredentialDataRequest"]["properties"]
    assert client["clientSecret"]["writeOnly"]
    assert "clientSecret" not in components["Oauth2ClientCredentialData"]["properties"]
    grant = components["OAuth2GrantClientRequest"]["properties"]
    assert grant["clientSecret"]["writeOnly"]
    assert "clientSecret" not in components["OAuth2GrantClient"]["properties"]
    assert "consumerSecret" in components["OAuth1SettingsRequest"]["properties"]
    assert "consumerSecret" not in components["OAuth1Settings"]["properties"]
    webhook = components["WebhookEndpoint"]["properties"]
    assert "secret" not in webhook
    assert "secret" in components["WebhookEndpointCreated"]["properties"]


def test_the_operation_ids_are_kept(doc):
    ids = {operation["operationId"] for _, _, operation in _operations(doc)}
    assert {
        "organisation_retrieve",
        "connectors_list",
        "connectors_create",
        "connectors_retrieve",
        "connectors_update",
        "connectors_delete",
        "auth_scheme_configs_put",
        "auth_scheme_configs_delete",
        "credentials_list",
        "credentials_create",
        "credentials_retrieve",
        "credentials_replace",
        "credentials_update",
        "credentials_delete",
        "oauth2_initialise",
        "oauth2_grant_token",
        "oauth2_callback",
        "connections_list",
        "connections_create",
        "connections_retrieve",
        "connections_update",
        "connections_delete",
        "connections_access_token",
        "hubs_create",
        "hub_users_create",
        "hub_sessions_create",
        "embed_session",
        "embed_connectors",
        "embed_connections_list",
        "embed_connections_create",
        "embed_connections_update",
        "embed_connections_delete",
        "embed_oauth2_initialise",
        "embed_authorisation_status",
        "webhooks_create",
        "webhooks_rotate_secret",
        "webhooks_deliveries_list",
        "webhooks_deliveries_redeliver",
    } <= ids


# --- Real answers: organisation and connectors -------------------------------------------


def test_organisation(doc, alice):
    doc.check(ORG, "get", alice.client.get(f"/api/v2/o/{alice.org_id}"), 200)


CONFIGS: list[dict[str, Any]] = [
    {"id": "none", "type": "none", "description": "Public endpoints"},
    {"id": "key", "type": "api-key", "apiKey": {"name": "X-Api-Key", "in": "header"}},
    {"id": "basic", "type": "basic-auth"},
    {"id": "cert", "type": "certificate", "certificate": {}},
    {"id": "sig", "type": "hmac", "hmac": {"name": "X-Signature", "algorithm": "sha1"}},
    {
        "id": "oauth2",
        "type": "oauth2",
        "oauth2": {
            "authorizeUrl": f.AUTHORIZE_URL,
            "tokenUrl": f.TOKEN_URL,
            "scopes": [{"name": "read", "description": "Read"}],
            "defaultScopes": ["read", "write"],
            "grant": {
                "type": "authorizationCode",
                "authorizationCode": {"clientId": "cid", "clientSecret": "cs-secret-0123"},
            },
        },
    },
    {
        "id": "oauth1",
        "type": "oauth1",
        "oauth1": {
            "consumerKey": "ck",
            "consumerSecret": "consumer-secret-0123",
            "signatureMethod": "PLAINTEXT",
            "tempCredentialEndpoint": {
                "url": "https://api.example.com/oauth/request_token",
                "additionalParamConfigs": [{"parameterName": "oauth_callback"}],
            },
            "resourceOwnerAuthorizationEndpoint": {"url": "https://api.example.com/authorize"},
            "tokenEndpoint": {"url": "https://api.example.com/oauth/access_token"},
        },
    },
]


def test_connectors(doc, alice):
    path = f"{ORG}/connectors"
    body = {"name": "Acme", "baseUrl": "https://api.example.com", "authSchemeConfigs": CONFIGS}
    created = doc.check(path, "post", alice.client.post(alice.url("connectors"), body, "json"), 201)
    assert {c["type"] for c in created["authSchemeConfigs"]} == {c["type"] for c in CONFIGS}
    assert any(c["validationMessages"] for c in created["authSchemeConfigs"])
    url = alice.url(f"connectors/{created['id']}")
    detail = f"{path}/{{connector_id}}"
    doc.check(detail, "get", alice.client.get(url), 200)
    doc.check(path, "get", alice.client.get(alice.url("connectors")), 200)
    doc.check(detail, "patch", alice.client.patch(url, {"name": "Acme 2"}, "json"), 200)

    config = f"{detail}/auth-scheme-configs/{{config_id}}"
    new = {"type": "api-key", "apiKey": {"name": "token", "in": "query"}}
    doc.check(config, "put", alice.client.put(f"{url}/auth-scheme-configs/q", new, "json"), 201)
    doc.check(config, "put", alice.client.put(f"{url}/auth-scheme-configs/q", new, "json"), 200)


def test_connector_errors(doc, alice, anonymous):
    path = f"{ORG}/connectors"
    detail = f"{path}/{{connector_id}}"
    missing = alice.url("connectors/00000000-0000-0000-0000-000000000000")
    error = doc.check(detail, "get", alice.client.get(missing), 404)
    assert error["code"] == "not_found"
    bad = {"name": "", "authSchemeConfigs": [{"type": "nope"}]}
    error = doc.check(path, "post", alice.client.post(alice.url("connectors"), bad, "json"), 400)
    assert error["fields"]
    doc.check(path, "post", alice.client.post(alice.url("connectors"), "{", "json"), 400)
    doc.check(path, "get", anonymous.get(alice.url("connectors")), 401)
    doc.check(path, "get", alice.client.get(alice.url("connectors"), {"first": "0"}), 400)
    alice.client.post(alice.url("connectors"), {"name": "Taken"}, "json")
    taken = alice.client.post(alice.url("connectors"), {"name": "Taken"}, "json")
    doc.check(path, "post", taken, 409)
    form = alice.client.post(alice.url("connectors"), {"name": "x"})  # multipart
    doc.check(path, "post", form, 415)
    huge = alice.client.generic(
        "POST", alice.url("connectors"), "x" * (70 * 1024), "application/json"
    )
    doc.check(path, "post", huge, 413)


# --- Credentials ----------------------------------------------------------------------


CREDENTIALS = {
    "string": {"string": {"value": "s3cret-value"}},
    "basic-auth": {"basicAuth": {"username": "ada", "password": "pa55word"}},
    "oauth2-client": {
        "oauth2Client": {
            "clientId": "cid",
            "clientSecret": "client-secret-9",
            "tokenUrl": f.TOKEN_URL,
            "scopes": ["read"],
            "additionalParams": "audience=x",
            "mTLSEnabled": False,
        }
    },
    "oauth2-token": {
        "oauth2Token": {
            "accessToken": "at-1",
            "refreshToken": "rt-1",
            "tokenType": "Bearer",
            "scopes": ["read"],
            "expiresAt": "2099-01-01T00:00:00Z",
        }
    },
    "oauth1-token": {
        "oauth1Token": {"token": "t", "tokenSecret": "ts", "additionalParams": {"a": "b"}}
    },
    "binary": {"binary": {"valueBase64": "AAEC"}},
    "none": {"none": {}},
}


@pytest.mark.parametrize("type_", sorted(CREDENTIALS))
def test_credentials(doc, alice, type_):
    path = f"{ORG}/credentials"
    detail = f"{path}/{{credential_id}}"
    body = {"name": f"A {type_}", "type": type_, "data": CREDENTIALS[type_]}
    created = doc.check(
        path, "post", alice.client.post(alice.url("credentials"), body, "json"), 201
    )
    assert created["type"] == type_
    url = alice.url(f"credentials/{created['id']}")
    doc.check(detail, "get", alice.client.get(url), 200)
    doc.check(detail, "patch", alice.client.patch(url, {"name": "renamed"}, "json"), 200)
    doc.check(path, "get", alice.client.get(alice.url("credentials"), {"type": type_}), 200)


def test_default_credentials_and_aliases(doc, alice):
    path = f"{ORG}/credentials"
    body = {
        "name": "Mixed",
        "type": "default",
        "data": {"default": {"user": "YWRh", "key": "c2VjcmV0"}},
        "redactFields": ["key"],
        "expiresAt": "2099-01-01T00:00:00Z",
    }
    created = doc.check(
        path, "post", alice.client.post(alice.url("credentials"), body, "json"), 201
    )
    assert created["data"] == {"default": {"user": "YWRh"}}
    alias = {"name": "Old", "type": "Raw", "data": {"value": "v"}}
    doc.check(path, "post", alice.client.post(alice.url("credentials"), alias, "json"), 201)
    code = {"name": "c", "type": "oauth2-code", "data": {"oauth2Code": {"code": "x"}}}
    error = doc.check(path, "post", alice.client.post(alice.url("credentials"), code, "json"), 400)
    assert error["code"] == "invalid_request"  # no state: exchanged codes need one
    oauth1 = {"type": "oauth1", "data": {"oauth1": {"oauthToken": "t"}}}
    error = doc.check(
        path, "post", alice.client.post(alice.url("credentials"), oauth1, "json"), 400
    )
    assert error["code"] == "use_oauth_flow"


# --- Connections and the OAuth 2.0 flow ---------------------------------------------------


def test_the_oauth2_flow(doc, alice, token_endpoint):  # noqa: F811
    connector, _config = f.oauth2_connector(alice.organisation)
    client = f.client_credential(alice.organisation)
    init = f"{ORG}/connectors/{{connector_id}}/oauth2/initialise"
    response = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
        f.initialise_body(client, scopes=["read"]),
        format="json",
    )
    state = parse_qs(urlsplit(doc.check(init, "post", response, 200)["url"]).query)["state"][0]

    callback = "/api/v2/connections/oauth2/callback"
    response = alice.client.get(callback, {"code": "the-code", "state": state})
    token = doc.check(callback, "get", response, 201)
    assert token["type"] == "oauth2-token"
    replay = alice.client.get(callback, {"code": "the-code", "state": state})
    assert doc.check(callback, "get", replay, 400)["code"] == "invalid_state"

    path = f"{ORG}/connections"
    detail = f"{path}/{{connection_id}}"
    listed = doc.check(path, "get", alice.client.get(alice.url("connections")), 200)
    (connection,) = listed["items"]
    url = alice.url(f"connections/{connection['id']}")
    got = doc.check(detail, "get", alice.client.get(url), 200)
    assert got["credentials"][0]["credential"]["id"] == token["id"]
    doc.check(detail, "patch", alice.client.patch(url, {"name": "Renamed"}, "json"), 200)

    access = f"{detail}/access-token"
    answer = doc.check(access, "get", alice.client.get(f"{url}/access-token"), 200)
    assert answer["accessToken"] == "fake-access-token-123"
    bad = alice.client.get(f"{url}/access-token", {"forceRefresh": "maybe"})
    doc.check(access, "get", bad, 400)
    token_endpoint.answer(500, {"error": "server_error"})
    failed = alice.client.get(f"{url}/access-token", {"forceRefresh": "true"})
    assert doc.check(access, "get", failed, 502)["retryAfter"] >= 0


def test_connections_made_through_the_api_and_factories(doc, alice, token_endpoint):  # noqa: F811
    connector = Connector.objects.create(organisation=alice.organisation, name="Keys")
    config = f.config_of_type(connector, "basic-auth", "basic")
    created = alice.client.post(
        alice.url("credentials"),
        {"type": "basic-auth", "data": CREDENTIALS["basic-auth"]},
        "json",
    ).json()
    path = f"{ORG}/connections"
    body = {
        "name": "Main",
        "systemId": str(connector.pk),
        "credentials": [{"authSchemeConfigId": config.config_id, "credentialId": created["id"]}],
    }
    made = doc.check(path, "post", alice.client.post(alice.url("connections"), body, "json"), 201)
    assert made["endUser"] is None
    doc.check(path, "post", alice.client.post(alice.url("connections"), body, "json"), 409)

    client = f.client_credential(alice.organisation)
    grant = {
        "credentialId": str(client.pk),
        "organisationId": alice.org_id,
        "clientId": "client-123",
    }
    oauth2, oauth2_config = f.oauth2_connector(
        alice.organisation,
        name="Factory",
        grant={"type": "authorizationCode", "authorizationCode": grant},
    )
    token = f.token_credential(alice.organisation)
    built = f.connection(alice.organisation, oauth2, links=[(oauth2_config, token)])
    ConnectionCredential.objects.filter(connection=built).update(client_credential=client)
    detail = f"{path}/{{connection_id}}"
    doc.check(detail, "get", alice.client.get(alice.url(f"connections/{built.pk}")), 200)
    access = alice.client.get(alice.url(f"connections/{built.pk}/access-token"))
    doc.check(f"{detail}/access-token", "get", access, 200)
    token_endpoint.answer(400, {"error": "invalid_grant"})
    refused = alice.client.get(alice.url(f"connections/{built.pk}/access-token?forceRefresh=true"))
    assert doc.check(f"{detail}/access-token", "get", refused, 409)["providerError"]


def test_the_grant_token_endpoint(doc, alice, token_endpoint):  # noqa: F811
    client = f.client_credential(alice.organisation)
    connector, _ = f.oauth2_connector(
        alice.organisation,
        grant={
            "type": "clientCredentials",
            "clientCredentials": {
                "credentialId": str(client.pk),
                "organisationId": alice.org_id,
                "clientId": "client-123",
            },
        },
    )
    path = f"{ORG}/connectors/{{connector_id}}/oauth2/token"
    url = alice.url(f"connectors/{connector.pk}/oauth2/token")
    made = doc.check(path, "post", alice.client.post(url, {"name": "m2m"}, "json"), 201)
    assert made["credentials"][0]["credential"]["type"] == "oauth2-token"
    doc.check(path, "post", alice.client.post(url, {"name": "m2m"}, "json"), 409)
    doc.check(path, "post", alice.client.post(url, {"nope": 1}, "json"), 400)
    token_endpoint.answer(500, {"error": "server_error"})
    doc.check(path, "post", alice.client.post(url, {"name": "other"}, "json"), 502)


# --- Hubs, end users, sessions and the embed API --------------------------------------------


def test_hubs_end_users_and_sessions(doc, alice):
    connector = Connector.objects.create(organisation=alice.organisation, name="Offered")
    path = f"{ORG}/hubs"
    body = {
        "name": "Portal",
        "connectors": [str(connector.pk)],
        "allowedOrigins": ["https://app.example.com"],
        "returnUrls": ["https://app.example.com/done"],
        "branding": {"title": "Connect", "accentColor": "#336699"},
    }
    hub_ = doc.check(path, "post", alice.client.post(alice.url("hubs"), body, "json"), 201)
    hub_url = alice.url(f"hubs/{hub_['id']}")
    detail = f"{path}/{{hub_id}}"
    doc.check(detail, "get", alice.client.get(hub_url), 200)
    doc.check(path, "get", alice.client.get(alice.url("hubs")), 200)
    doc.check(detail, "patch", alice.client.patch(hub_url, {"name": "P2"}, "json"), 200)
    unknown = {"connectors": ["00000000-0000-0000-0000-000000000000"]}
    doc.check(detail, "patch", alice.client.patch(hub_url, unknown, "json"), 404)

    users = f"{detail}/users"
    user = {"externalId": "u-1", "displayName": "Ada"}
    made = doc.check(users, "post", alice.client.post(f"{hub_url}/users", user, "json"), 201)
    doc.check(users, "post", alice.client.post(f"{hub_url}/users", user, "json"), 409)
    doc.check(users, "get", alice.client.get(f"{hub_url}/users"), 200)
    user_url = f"{hub_url}/users/{made['id']}"
    doc.check(f"{users}/{{user_id}}", "get", alice.client.get(user_url), 200)
    renamed = alice.client.patch(user_url, {"displayName": "Ada L."}, "json")
    doc.check(f"{users}/{{user_id}}", "patch", renamed, 200)

    sessions = f"{detail}/sessions"
    minted = alice.client.post(f"{hub_url}/sessions", {"endUser": {"externalId": "u-2"}}, "json")
    session = doc.check(sessions, "post", minted, 201)
    assert session["token"].startswith("pbs_")
    doc.check(sessions, "post", alice.client.post(f"{hub_url}/sessions", {}, "json"), 400)


def test_the_embed_api(doc, hub: EmbedHub, embed, no_network):  # noqa: F811
    doc.check(f"{EMBED}/session", "get", embed.get(hub.url("session")), 200)
    offered = doc.check(f"{EMBED}/connectors", "get", embed.get(hub.url("connectors")), 200)
    assert {c["type"] for c in offered["items"]} == {"oauth2", "api-key", "basic-auth"}

    path = f"{EMBED}/connections"
    body = {"connectorId": str(hub.api_key.pk), "apiKey": "k-123456"}
    made = doc.check(path, "post", embed.post(hub.url("connections"), body, format="json"), 201)
    basic = {"connectorId": str(hub.basic_auth.pk), "basicAuth": {"username": "u", "password": "p"}}
    doc.check(path, "post", embed.post(hub.url("connections"), basic, format="json"), 201)
    doc.check(path, "get", embed.get(hub.url("connections")), 200)
    detail = f"{path}/{{connection_id}}"
    replaced = embed.patch(hub.url(f"connections/{made['id']}"), {"apiKey": "k-2"}, format="json")
    doc.check(detail, "patch", replaced, 200)

    # The organisation API shows the end user of a connection made through a hub.
    owner = hub.owner
    got = owner.client.get(owner.url(f"connections/{made['id']}"))
    assert doc.check(f"{ORG}/connections/{{connection_id}}", "get", got, 200)["endUser"]

    init = f"{EMBED}/connector/{{connector_id}}/oauth2/initialise"
    started = embed.post(
        hub.url(f"connector/{hub.oauth2.pk}/oauth2/initialise"), initialise_body(hub), "json"
    )
    authorisation = doc.check(init, "post", started, 200)["authorisationId"]
    status_path = f"{EMBED}/authorisations/{{authorisation_id}}"
    status = doc.check(
        status_path, "get", embed.get(hub.url(f"authorisations/{authorisation}")), 200
    )
    assert status == {"status": "pending", "connectionId": None, "error": None}

    doc.check(f"{EMBED}/session", "get", embed_client("pbs_nope").get(hub.url("session")), 401)
    missing = embed.get(hub.url("authorisations/00000000-0000-0000-0000-000000000000"))
    doc.check(status_path, "get", missing, 404)
    doc.check(path, "post", embed.post(hub.url("connections"), {"x": 1}, format="json"), 400)


# --- Webhooks -------------------------------------------------------------------------------


def test_webhooks(doc, alice):
    path = f"{ORG}/webhooks"
    detail = f"{path}/{{webhook_id}}"
    body = {"url": "https://hooks.example.com/in", "events": ["connection.created"]}
    created = doc.check(path, "post", alice.client.post(alice.url("webhooks"), body, "json"), 201)
    assert created["secret"].startswith("whsec_")
    url = alice.url(f"webhooks/{created['id']}")
    got = doc.check(detail, "get", alice.client.get(url), 200)
    assert "secret" not in got
    listed = doc.check(path, "get", alice.client.get(alice.url("webhooks")), 200)
    assert all("secret" not in item for item in listed["items"])
    doc.check(detail, "patch", alice.client.patch(url, {"active": False}, "json"), 200)
    rotated = doc.check(
        f"{detail}/rotate-secret", "post", alice.client.post(f"{url}/rotate-secret"), 200
    )
    assert rotated["secret"] != created["secret"]
    doc.check(f"{detail}/deliveries", "get", alice.client.get(f"{url}/deliveries"), 200)
    bad = alice.client.post(alice.url("webhooks"), {"url": "ftp://x", "events": ["nope"]}, "json")
    doc.check(path, "post", bad, 400)


def test_webhook_deliveries(doc, alice, no_network):  # noqa: F811
    from webhooks.services import event_emit

    created = alice.client.post(
        alice.url("webhooks"), {"url": "https://hooks.example.com/in"}, "json"
    ).json()
    event_emit(organisation=alice.organisation, type="connection.created", data={"id": "x"})
    url = alice.url(f"webhooks/{created['id']}")
    detail = f"{ORG}/webhooks/{{webhook_id}}"
    page = doc.check(f"{detail}/deliveries", "get", alice.client.get(f"{url}/deliveries"), 200)
    (delivery,) = page["items"]
    assert delivery["status"] == "pending"
    redeliver = f"{detail}/deliveries/{{delivery_id}}/redeliver"
    again = alice.client.post(f"{url}/deliveries/{delivery['id']}/redeliver")
    doc.check(redeliver, "post", again, 202)
    alice.client.patch(url, {"active": False}, "json")
    refused = alice.client.post(f"{url}/deliveries/{delivery['id']}/redeliver")
    doc.check(redeliver, "post", refused, 409)


def test_the_shared_components_exist(doc):
    components = doc.raw["components"]["schemas"]
    for name in ("Error", "ErrorField", "TokenError", "PageInfo", "Connector",
                 "AuthSchemeConfig", "Credential", "Connection", "Hub", "EndUser",
                 "WebhookEndpoint", "WebhookDelivery"):  # fmt: skip
        assert name in components, name
    assert doc.raw["components"]["schemas"]["ConnectorPage"]["properties"]["pageInfo"] == {
        "$ref": "#/components/schemas/PageInfo"
    }


def test_the_check_refuses_what_is_not_documented(doc, alice):
    """The validation is strict: an undocumented key, a missing one or a wrong type fails."""
    body = alice.client.get(alice.url("webhooks")).json()
    schema = _anchored(doc.response_schema(f"{ORG}/webhooks", "get", 200))
    validator = jsonschema.Draft4Validator(schema, registry=doc.registry)
    assert validator.is_valid(body)
    assert not validator.is_valid({**body, "extra": 1})
    assert not validator.is_valid({"items": body["items"]})
    assert not validator.is_valid({**body, "pageInfo": {"hasNextPage": "no", "endCursor": None}})
    item = {"id": "x", "organisationId": "y", "url": "u", "description": "", "events": [],
            "active": True, "previousSecretExpiresAt": None,
            "createdAt": "t", "updatedAt": "t"}  # fmt: skip
    assert validator.is_valid({**body, "items": [item]})
    assert not validator.is_valid({**body, "items": [{**item, "secret": "whsec_x"}]})
