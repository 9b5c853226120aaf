"""Credentials' wire format is generated from the type table: the per-type classes that
validate a body are the ones the document shows, and one class renders every credential."""

from __future__ import annotations

import threading

import pytest

import core.wire.bodies
from core.errors import PatchbayError
from core.text import text_pattern
from core.wire import Text
from core.wire.bodies import ECHO_SCHEMA
from credentials import outputs
from credentials.inputs import DATA_INPUTS, credential_data_parse
from credentials.models import Credential


def _schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_a_field_added_to_a_types_data_is_validated_documented_and_stored(alice, monkeypatch):
    inner_data = {"username": "u", "password": "p", "realm": "x\x07"}
    body = {"type": "basic-auth", "data": {"basicAuth": inner_data}}
    refused = alice.client.post(alice.url("credentials"), body, format="json")
    assert refused.status_code == 400
    assert refused.json()["fields"] == [
        {"field": "data.basicAuth.realm", "message": "Unknown field."}
    ]

    inner = DATA_INPUTS["basic-auth"]
    monkeypatch.setitem(inner._declared_fields, "realm", Text(max_length=40, required=False))
    monkeypatch.setattr(core.wire.bodies, "_PARSERS", threading.local())  # bound anew

    refused = alice.client.post(alice.url("credentials"), body, format="json")
    assert refused.json()["fields"] == [
        {"field": "data.basicAuth.realm", "message": "Must not contain control characters."}
    ]
    inner_data["realm"] = "r"
    created = alice.client.post(alice.url("credentials"), body, format="json")
    assert created.status_code == 201, created.json()
    assert Credential.objects.get().data == {"username": "u", "password": "p", "realm": "r"}
    component = _schema(alice.client)["components"]["schemas"]["BasicAuthCredentialDataRequest"]
    assert component["properties"]["realm"] == {
        "type": "string",
        "maxLength": 40,
        "pattern": text_pattern(),  # the parser's rule: no control characters
        "nullable": True,
    }
    assert component["additionalProperties"] is False


def test_the_document_shows_each_types_body_as_one_of_by_type(alice):
    schemas = _schema(alice.client)["components"]["schemas"]
    request = schemas["CredentialRequest"]
    assert request["discriminator"]["propertyName"] == "type"
    assert set(request["discriminator"]["mapping"]) == set(DATA_INPUTS)
    variant = schemas["CredentialBasicAuthRequest"]
    assert variant["properties"]["type"] == {"type": "string", "enum": ["basic-auth"]}
    assert variant["properties"]["data"] == {
        "$ref": "#/components/schemas/CredentialBasicAuthDataRequest"
    }
    # A typed credential's own (read-only): sent back, it is ignored.
    assert variant["properties"]["redactFields"] == ECHO_SCHEMA
    assert "redactFields" in schemas["CredentialDefaultRequest"]["properties"]
    answer = schemas["CredentialBasicAuth"]
    assert answer["additionalProperties"] is False
    assert "password" not in schemas["BasicAuthCredentialData"]["properties"]


def test_one_class_renders_every_credential_without_its_secrets(alice):
    credential = Credential.objects.create(
        organisation=alice.organisation,
        name="c",
        type="oauth2-token",
        data={"accessToken": "at-secret", "refreshToken": "rt-secret", "tokenType": "Bearer"},
        errors=None,
    )
    rendered = outputs.Credential.render(credential)
    assert rendered["data"] == {"oauth2Token": {"tokenType": "Bearer"}}
    assert rendered["redactFields"] == ["accessToken", "refreshToken"]
    assert rendered["errors"] is None
    assert "secret" not in repr(rendered)
    assert outputs.CREDENTIAL_VARIANTS["oauth2-token"].render(credential) == rendered


def test_the_data_of_other_callers_is_parsed_by_the_same_declarations():
    parsed = credential_data_parse(type="basic-auth", data={"username": "u", "password": "p"})
    assert (parsed.values, parsed.given) == (
        {"username": "u", "password": "p"},
        frozenset({"username", "password"}),
    )
    with pytest.raises(PatchbayError) as refused:
        credential_data_parse(type="basic-auth", data={"username": 1, "x": 2})
    assert [(f.field, f.message) for f in refused.value.fields] == [
        ("data.basicAuth.x", "Unknown field."),
        ("data.basicAuth.username", "Must be a string."),
        ("data.basicAuth.password", "This field is required."),
    ]


def test_an_update_keeps_secrets_and_names_what_it_would_leave_missing():
    stored = {"username": "u", "password": "p"}
    parsed = credential_data_parse(
        type="basic-auth", data={"password": "q"}, update=True, stored=stored, partial=True
    )
    assert parsed.merged(stored=stored, partial=True) == {"username": "u", "password": "q"}
    with pytest.raises(PatchbayError) as refused:  # PUT: a non-secret field left out clears
        credential_data_parse(type="basic-auth", data={}, update=True, stored=stored)
    assert [f.field for f in refused.value.fields] == ["data.basicAuth.username"]
    kept = credential_data_parse(type="basic-auth", data={"username": "v"}, update=True)
    assert kept.merged(stored=stored) == {"username": "v", "password": "p"}
