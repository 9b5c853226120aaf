"""The auth scheme config declarations (connectors.schemes) are what validates a config
and what the document describes: a oneOf by type whose variants nest each type's settings."""

from __future__ import annotations

import threading

import pytest

import core.wire.bodies
import core.wire.compound
from connectors.inputs import AuthSchemeConfig
from connectors.schemes.oauth2 import OAuth2Settings
from core.errors import PatchbayError
from core.text import text_pattern
from core.wire import Text
from tests.connectors.test_connectors_api import create_connector, oauth2


def _components(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()["components"]["schemas"]


def test_a_setting_added_to_a_type_is_validated_and_documented(alice, monkeypatch):
    config = oauth2(colour="teal")
    with pytest.raises(PatchbayError) as refused:
        AuthSchemeConfig.parse(config)
    assert [f.field for f in refused.value.fields] == ["oauth2.colour"]

    monkeypatch.setitem(
        OAuth2Settings._declared_fields, "colour", Text(max_length=8, required=False)
    )
    monkeypatch.setattr(core.wire.compound, "_PLANS", {})  # rendering plans compiled anew
    monkeypatch.setattr(core.wire.bodies, "_PARSERS", threading.local())  # bound anew

    assert AuthSchemeConfig.parse(config).settings["colour"] == "teal"
    assert create_connector(alice, configs=[config]).status_code == 201
    settings = _components(alice.client)["OAuth2SettingsRequest"]
    assert settings["properties"]["colour"] == {
        "type": "string",
        "maxLength": 8,
        "pattern": text_pattern(),  # the parser's rule: no control characters
        "nullable": True,
    }
    assert settings["additionalProperties"] is False


def test_the_config_is_documented_as_one_of_its_types(alice):
    components = _components(alice.client)
    for name in ("AuthSchemeConfigRequest", "AuthSchemeConfig"):
        suffix = "Request" if name.endswith("Request") else ""
        assert components[name]["discriminator"]["propertyName"] == "type"
        mapping = components[name]["discriminator"]["mapping"]
        assert mapping["api-key"] == f"#/components/schemas/AuthSchemeConfigApiKey{suffix}"
        assert len(components[name]["oneOf"]) == len(mapping) == 7
    api_key = components["AuthSchemeConfigApiKeyRequest"]["properties"]
    assert api_key["apiKey"] == {"$ref": "#/components/schemas/ApiKeySettingsRequest"}
    assert components["OAuth2GrantClientRequest"]["properties"]["clientSecret"]["writeOnly"]
    assert "clientSecret" not in components["OAuth2GrantClient"]["properties"]
