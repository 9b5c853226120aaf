"""Inputs the document forbids are refused, and what it allows is accepted (issue 18,
item 12): null for objects and lists, oauth1's enum names, an empty credential name."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from connections.models import Connection
from connectors.models import Connector
from credentials.models import Credential
from tests.connections import factories as f
from tests.connectors.test_connectors_api import OAUTH1

pytestmark = pytest.mark.django_db


def _schemas(client) -> dict[str, Any]:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    return response.json()["components"]["schemas"]


def _refused(response, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_request"
    assert field in [item["field"] for item in body["fields"]], body


# --- null for objects and lists ---------------------------------------------------------


def test_null_credentials_are_refused_not_read_as_none(alice):
    connector, config = f.oauth2_connector(alice.organisation)
    token = f.token_credential(alice.organisation)
    body = {"name": "c", "systemId": str(connector.pk), "credentials": None}
    _refused(alice.client.post(alice.url("connections"), body, format="json"), "credentials")
    assert not Connection.objects.exists()

    connection = f.connection(alice.organisation, connector, links=[(config, token)])
    response = alice.client.patch(
        alice.url(f"connections/{connection.pk}"), {"credentials": None}, format="json"
    )
    _refused(response, "credentials")
    assert connection.connection_credentials.count() == 1  # not emptied by a null


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"id": "b", "type": "basic-auth", "basicAuth": None}, "authSchemeConfigs[0].basicAuth"),
        (
            {"id": "c", "type": "certificate", "certificate": None},
            "authSchemeConfigs[0].certificate",
        ),
        ({"id": "k", "type": "api-key", "apiKey": None}, "authSchemeConfigs[0].apiKey"),
    ],
)
def test_a_null_typed_object_of_a_config_is_refused(alice, config, field):
    body = {"name": "n", "authSchemeConfigs": [config]}
    _refused(alice.client.post(alice.url("connectors"), body, format="json"), field)
    assert not Connector.objects.exists()


def test_a_null_list_of_configs_is_refused(alice):
    body = {"name": "n", "authSchemeConfigs": None}
    _refused(alice.client.post(alice.url("connectors"), body, format="json"), "authSchemeConfigs")


def test_objects_and_lists_that_refuse_null_are_not_nullable_in_the_document(alice):
    schemas = _schemas(alice.client)
    write = schemas["ConnectionCreateRequest"]["properties"]
    assert "nullable" not in write["credentials"]
    assert schemas["AuthSchemeConfigBasicAuthRequest"]["properties"]["basicAuth"] == {
        "$ref": "#/components/schemas/BasicAuthSettingsRequest"
    }
    assert "nullable" not in schemas["EmbedConnectionCreateRequest"]["properties"]["basicAuth"]


def test_a_null_connection_template_id_is_accepted_and_documented_so(alice):
    # A connection read back and sent again carries "connectionTemplateId": null.
    connector, _ = f.oauth2_connector(alice.organisation)
    body = {"name": "c", "systemId": str(connector.pk), "connectionTemplateId": None}
    response = alice.client.post(alice.url("connections"), body, format="json")
    assert response.status_code == 201, response.json()
    write = _schemas(alice.client)["ConnectionCreateRequest"]["properties"]
    assert write["connectionTemplateId"]["nullable"] is True
    assert "nullable" not in write["name"]  # required: null is refused
    response = alice.client.post(alice.url("connections"), {**body, "name": None}, format="json")
    _refused(response, "name")


# --- oauth1 enum names -----------------------------------------------------------------


def _oauth1(**param: Any) -> dict[str, Any]:
    config = copy.deepcopy(OAUTH1)
    config["oauth1"]["tokenEndpoint"]["additionalParamConfigs"][0].update(param)
    return config


@pytest.mark.parametrize("location", ["LOCATION_NOWHERE", "LOCATION_", "location_query", None])
def test_an_unknown_location_is_refused(alice, location):
    body = {"name": "n", "authSchemeConfigs": [_oauth1(location=location)]}
    response = alice.client.post(alice.url("connectors"), body, format="json")
    _refused(
        response, "authSchemeConfigs[0].oauth1.tokenEndpoint.additionalParamConfigs[0].location"
    )
    assert not Connector.objects.exists()


@pytest.mark.parametrize(
    "location", ["LOCATION_IGNORE", "LOCATION_QUERY", "LOCATION_HEADER", "LOCATION_BODY"]
)
def test_the_four_locations_are_accepted(alice, location):
    body = {"name": "n", "authSchemeConfigs": [_oauth1(location=location)]}
    response = alice.client.post(alice.url("connectors"), body, format="json")
    assert response.status_code == 201, response.json()
    endpoint = response.json()["authSchemeConfigs"][0]["oauth1"]["tokenEndpoint"]
    assert endpoint["additionalParamConfigs"][0]["location"] == location


def test_the_document_lists_the_locations_and_the_usages_rule(alice):
    param = _schemas(alice.client)["OAuth1ParamConfigRequest"]["properties"]
    assert param["location"]["enum"] == [
        "LOCATION_IGNORE",
        "LOCATION_QUERY",
        "LOCATION_HEADER",
        "LOCATION_BODY",
    ]
    assert param["usages"]["pattern"] == "^USAGE_[A-Z0-9_]*$"


@pytest.mark.parametrize(
    ("usages", "ok"), [("USAGE_SIGNING", True), ("USAGEX", False), ("USAGE_a", False)]
)
def test_usages_follow_the_documented_pattern(alice, usages, ok):
    body = {"name": "n", "authSchemeConfigs": [_oauth1(usages=usages)]}
    response = alice.client.post(alice.url("connectors"), body, format="json")
    if ok:
        assert response.status_code == 201, response.json()
    else:
        _refused(
            response, "authSchemeConfigs[0].oauth1.tokenEndpoint.additionalParamConfigs[0].usages"
        )


# --- credential names ------------------------------------------------------------------


def _string_credential(**extra: Any) -> dict[str, Any]:
    return {"type": "string", "data": {"string": {"value": "s-3b3b"}}, **extra}


def test_an_empty_credential_name_is_refused_naming_the_field(alice):
    response = alice.client.post(
        alice.url("credentials"), _string_credential(name=""), format="json"
    )
    _refused(response, "name")
    assert not Credential.objects.exists()


def test_an_empty_name_cannot_be_patched_in_either(alice):
    created = alice.client.post(
        alice.url("credentials"), _string_credential(name="k"), format="json"
    ).json()
    path = alice.url(f"credentials/{created['id']}")
    _refused(alice.client.patch(path, {"name": ""}, format="json"), "name")
    assert Credential.objects.get().name == "k"


def test_the_document_says_a_credential_name_is_not_empty(alice):
    variant = _schemas(alice.client)["CredentialStringRequest"]["properties"]["name"]
    assert variant["minLength"] == 1
