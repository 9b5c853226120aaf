"""`verification` on auth scheme configs (SPEC §9.2): validated, stored, rendered, documented."""

from __future__ import annotations

import pytest

from connectors.models import AuthSchemeConfig, Connector


def body(verification, *, type_="api-key"):
    config = {"id": "key", "type": type_, "apiKey": {"name": "X-Api-Key", "in": "header"}}
    if type_ == "basic-auth":
        config = {"id": "key", "type": "basic-auth", "basicAuth": {}}
    if verification is not ...:
        config["verification"] = verification
    return {"name": "Acme", "baseUrl": "https://api.acme.example/v1", "authSchemeConfigs": [config]}


def create(actor, verification, **kwargs):
    return actor.client.post(actor.url("connectors"), body(verification, **kwargs), format="json")


def test_it_stores_and_shows_a_verification(alice):
    response = create(
        alice, {"method": "HEAD", "path": "/me?fields=id", "expectedStatus": [200, 204]}
    )
    assert response.status_code == 201, response.json()
    shown = response.json()["authSchemeConfigs"][0]["verification"]
    assert shown == {"method": "HEAD", "path": "/me?fields=id", "expectedStatus": [200, 204]}
    config = AuthSchemeConfig.objects.get()
    assert config.verification == shown
    again = alice.client.get(alice.url(f"connectors/{config.connector_id}")).json()
    assert again["authSchemeConfigs"][0]["verification"] == shown


def test_method_and_expected_status_have_defaults(alice):
    response = create(alice, {"path": "/me"}, type_="basic-auth")
    assert response.status_code == 201, response.json()
    assert response.json()["authSchemeConfigs"][0]["verification"] == {
        "method": "GET",
        "path": "/me",
        "expectedStatus": [],
    }


@pytest.mark.parametrize("verification", [..., None])
def test_without_verification_none_is_shown(alice, verification):
    response = create(alice, verification)
    assert response.status_code == 201, response.json()
    assert "verification" not in response.json()["authSchemeConfigs"][0]
    assert AuthSchemeConfig.objects.get().verification is None


@pytest.mark.parametrize(
    ("verification", "field", "message"),
    [
        ({"path": "/me", "method": "DELETE"}, "method", "GET, HEAD, POST"),
        ({"method": "GET"}, "path", "required"),
        ({"path": "me"}, "path", "single '/'"),
        ({"path": "https://evil.example/"}, "path", "single '/'"),
        ({"path": "//evil.example/x"}, "path", "single '/'"),
        ({"path": "/a/../../admin"}, "path", "climb out"),
        ({"path": "/a/%2e%2e/admin"}, "path", "climb out"),
        ({"path": "/a%2f..%2fadmin"}, "path", "climb out"),
        ({"path": "/a\\..\\admin"}, "path", "climb out"),
        ({"path": "/me#frag"}, "path", "fragment"),
        ({"path": "/me now"}, "path", "spaces"),
        ({"path": "/me\r\nX-Injected: 1"}, "path", None),
        ({"path": "/" + "a" * 3000}, "path", None),
        ({"path": "/me", "expectedStatus": [99]}, "expectedStatus", "100-599"),
        ({"path": "/me", "expectedStatus": [200, 200]}, "expectedStatus", "repeat"),
        ({"path": "/me", "expectedStatus": ["200"]}, "expectedStatus", "100-599"),
        ({"path": "/me", "expectedStatus": [True]}, "expectedStatus", "100-599"),
        ({"path": "/me", "expectedStatus": 200}, "expectedStatus", "list"),
        ({"path": "/me", "expectedStatus": list(range(200, 221))}, "expectedStatus", "at most"),
        ({"path": "/me", "unknown": 1}, "unknown", None),
        ("GET /me", None, None),
    ],
)
def test_it_refuses_a_bad_verification(alice, verification, field, message):
    response = create(alice, verification)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_request"
    problem = response.json()["fields"][0]
    where = "authSchemeConfigs[0].verification"
    assert problem["field"] == (f"{where}.{field}" if field else where)
    if message:
        assert message in problem["message"]
    assert not Connector.objects.exists()


def test_a_put_replaces_the_verification(alice):
    connector = create(alice, {"path": "/me"}).json()
    url = alice.url(f"connectors/{connector['id']}/auth-scheme-configs/key")
    config = {
        "type": "api-key",
        "apiKey": {"name": "X-Api-Key"},
        "verification": {"path": "/v2/me"},
    }
    response = alice.client.put(url, config, format="json")
    assert response.status_code in (200, 201), response.json()
    assert (AuthSchemeConfig.objects.get().verification or {})["path"] == "/v2/me"
    del config["verification"]
    assert alice.client.put(url, config, format="json").status_code in (200, 201)
    assert AuthSchemeConfig.objects.get().verification is None


def test_openapi_describes_verification(alice):
    schema = alice.client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    verification = components["Verification"]
    assert verification["properties"]["method"]["enum"] == ["GET", "HEAD", "POST"]
    assert verification["properties"]["expectedStatus"]["items"]["maximum"] == 599
    assert "path" in verification["required"]
    variant = components["AuthSchemeConfigApiKey"]
    assert variant["properties"]["verification"]["allOf"] == [
        {"$ref": "#/components/schemas/Verification"}
    ]
