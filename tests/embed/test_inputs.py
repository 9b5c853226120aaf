"""embed.inputs: the hub body nests branding and is flattened into the services' names; a
field added to the nested declaration is validated and documented with no other edit."""

from __future__ import annotations

import threading

import pytest

import core.wire.bodies
from core.errors import PatchbayError
from core.text import text_pattern
from core.wire import Text
from embed import inputs


def test_a_hub_body_is_flattened_into_the_services_names():
    values = inputs.Hub.parse(
        {"name": "Portal", "branding": {"title": None, "accentColor": "#AABBCC"}, "id": "x"}
    )
    assert values == {"name": "Portal", "branding_title": "", "branding_accent_color": "#aabbcc"}


def test_it_refuses_an_accent_colour_with_a_trailing_newline(alice):
    body = {"name": "Portal", "branding": {"accentColor": "#aabbcc\n"}}
    response = alice.client.post(alice.url("hubs"), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["fields"] == [
        {"field": "branding.accentColor", "message": "Must be a colour like #1a2b3c."}
    ]


def test_a_field_added_to_the_branding_is_validated_and_documented(alice, monkeypatch):
    body = {"name": "Portal", "branding": {"motto": "hi"}}
    with pytest.raises(PatchbayError) as refused:
        inputs.Hub.parse(body)
    assert [(f.field, f.message) for f in refused.value.fields] == [
        ("branding.motto", "Unknown field.")
    ]

    motto = Text(max_length=20, required=False, source="branding_motto")
    monkeypatch.setitem(inputs.Branding._declared_fields, "motto", motto)
    monkeypatch.setattr(core.wire.bodies, "_PARSERS", threading.local())  # bound anew

    assert inputs.Hub.parse(body) == {"name": "Portal", "branding_motto": "hi"}
    schema = alice.client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    component = schema.json()["components"]["schemas"]["BrandingRequest"]
    assert component["properties"]["motto"] == {
        "type": "string",
        "maxLength": 20,
        "pattern": text_pattern(),  # the parser's rule: no control characters
        "nullable": True,
    }
    assert component["additionalProperties"] is False
