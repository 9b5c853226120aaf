"""The OpenAPI document and the docs UI describe the API that actually runs."""

from __future__ import annotations

import re

import pytest
import yaml
from django.urls import resolve

EXPECTED = {
    "/api/v2/o/{organisation_id}": {"get"},
    "/api/v2/o/{organisation_id}/connectors": {"get", "post"},
    "/api/v2/o/{organisation_id}/connectors/{connector_id}": {"get", "patch", "delete"},
    "/api/v2/o/{organisation_id}/connectors/{connector_id}/auth-scheme-configs/{asc_id}": {
        "put",
        "delete",
    },
    "/api/v2/o/{organisation_id}/connectors/{connector_id}/oauth2/initialise": {"post"},
    "/api/v2/o/{organisation_id}/credentials": {"get", "post"},
    "/api/v2/o/{organisation_id}/connections": {"get", "post"},
    "/api/v2/o/{organisation_id}/connections/{connection_id}": {"get", "patch", "delete"},
    "/api/v2/o/{organisation_id}/connections/{connection_id}/access-token": {"get"},
    "/api/v2/connections/oauth2/callback": {"get"},
    # Embed (SPEC §8)
    "/api/v2/o/{organisation_id}/hubs": {"get", "post"},
    "/api/v2/o/{organisation_id}/hubs/{hub_id}": {"get", "patch", "delete"},
    "/api/v2/o/{organisation_id}/hubs/{hub_id}/users": {"get", "post"},
    "/api/v2/o/{organisation_id}/hubs/{hub_id}/users/{user_id}": {"get", "patch", "delete"},
    "/api/v2/o/{organisation_id}/hubs/{hub_id}/sessions": {"post"},
    "/api/v2/embed/{hub_id}/session": {"get"},
    "/api/v2/embed/{hub_id}/connectors": {"get"},
    "/api/v2/embed/{hub_id}/connections": {"get", "post"},
    "/api/v2/embed/{hub_id}/connections/{connection_id}": {"patch", "delete"},
    "/api/v2/embed/{hub_id}/connector/{connector_id}/oauth2/initialise": {"post"},
    "/api/v2/embed/{hub_id}/authorisations/{authorisation_id}": {"get"},
}


@pytest.fixture
def schema(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_schema_documents_every_core_operation(schema):
    documented = {
        _normalise(p): set(ops) & {"get", "post", "put", "patch", "delete"}
        for p, ops in schema["paths"].items()
    }
    for path, methods in EXPECTED.items():
        key = _normalise(path)
        assert key in documented, f"{path} is not in the schema"
        assert methods <= documented[key], (
            f"{path}: {documented[key]} lacks {methods - documented[key]}"
        )


def test_every_documented_path_is_routed(schema):
    for path in schema["paths"]:
        concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        match = resolve(concrete)
        assert match.func is not None, path


def test_the_schema_declares_bearer_api_key_authentication(schema):
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_every_rest_operation_documents_api_keys_and_id_tokens(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKey"]["scheme"] == schemes["idToken"]["scheme"] == "bearer"
    assert schemes["idToken"]["bearerFormat"] == "JWT"
    operations = [
        (path, method, op)
        for path, methods in schema["paths"].items()
        if not path.startswith("/api/v2/embed/")
        for method, op in methods.items()
    ]
    assert len(operations) > 40
    for path, method, op in operations:
        names = {name for requirement in op["security"] for name in requirement}
        assert {"apiKey", "idToken"} <= names, (method, path, names)
        assert "connectSession" not in names, (method, path)


def test_the_docs_ui_loads_no_third_party_resources(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    external = [
        u
        for u in re.findall(r'(?:src|href)="([^"]+)"', html)
        if u.startswith(("http:", "https:", "//"))
    ]
    assert external == []
