"""One declaration per wire format: the class that validates a body is the one the document
describes, and the class that renders an answer is the one documented for it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import core.wire.bodies
from core.errors import PatchbayError
from core.text import text_pattern
from core.wire import Int, Text
from webhooks import outputs
from webhooks.inputs import WebhookEndpointCreate


def _schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_a_field_added_to_an_input_is_validated_and_documented(alice, monkeypatch):
    body = {"url": "https://hooks.example.com/in", "colour": "teal"}
    with pytest.raises(PatchbayError) as refused:
        WebhookEndpointCreate.parse(body)
    assert [(f.field, f.message) for f in refused.value.fields] == [("colour", "Unknown field.")]

    monkeypatch.setitem(
        WebhookEndpointCreate._declared_fields, "colour", Text(max_length=8, required=False)
    )
    monkeypatch.setattr(core.wire.bodies, "_PARSERS", threading.local())  # bound anew

    assert WebhookEndpointCreate.parse(body)["colour"] == "teal"
    component = _schema(alice.client)["components"]["schemas"]["WebhookEndpointCreateRequest"]
    # Optional, so null parses (as absent): the document says so.
    assert component["properties"]["colour"] == {
        "type": "string",
        "maxLength": 8,
        "pattern": text_pattern(),  # the parser's rule: no control characters
        "nullable": True,
    }
    assert component["additionalProperties"] is False


def test_a_field_added_to_an_output_is_rendered_and_documented(alice, monkeypatch):
    monkeypatch.setitem(outputs.WebhookEndpoint._declared_fields, "pings", Int(source="pk"))
    monkeypatch.setattr(outputs.WebhookEndpoint, "_plan", None)  # compiled again on next use
    created = alice.client.post(
        alice.url("webhooks"), {"url": "https://hooks.example.com/in"}, format="json"
    )
    assert created.status_code == 201
    listed = alice.client.get(alice.url("webhooks")).json()["items"][0]
    assert listed["pings"] == listed["id"]
    component = _schema(alice.client)["components"]["schemas"]["WebhookEndpoint"]
    assert component["properties"]["pings"] == {"type": "integer"}


def test_an_input_names_every_problem_with_its_path():
    with pytest.raises(PatchbayError) as refused:
        WebhookEndpointCreate.parse(
            {"url": "ftp://x", "events": ["connection.created", "nope", 3], "x": 1}
        )
    assert refused.value.status == 400
    assert refused.value.code == "invalid_request"
    assert [f.field for f in refused.value.fields] == ["x", "url", "events[1]", "events[2]"]
    assert refused.value.message == "The request is not valid (4 problems)."


@pytest.mark.parametrize("body", [[], "x", 3, None])
def test_an_input_refuses_a_body_that_is_not_an_object(body):
    with pytest.raises(PatchbayError) as refused:
        WebhookEndpointCreate.parse(body)
    assert [(f.field, f.message) for f in refused.value.fields] == [
        ("body", "Must be a JSON object.")
    ]


def test_null_is_absent_unless_the_declaration_says_otherwise():
    parsed = WebhookEndpointCreate.parse(
        {"url": "https://hooks.example.com/in", "description": None}
    )
    assert parsed == {"url": "https://hooks.example.com/in", "description": ""}
    with pytest.raises(PatchbayError) as refused:
        WebhookEndpointCreate.parse({"url": "https://hooks.example.com/in", "events": None})
    assert refused.value.fields[0].field == "events"


def test_base64_query_string_and_scopes_fields_keep_core_validations_words():
    from core.wire import Base64, Input, QueryString, Scopes

    class Probe(Input):
        blob = Base64(max_length=8, required=False)
        query = QueryString(max_length=16, required=False)
        scopes = Scopes(required=False)

    assert Probe.parse({"blob": "AAE=", "query": "a=1&b=", "scopes": ["a", "b", "a"]}) == {
        "blob": "AAE=",
        "query": "a=1&b=",
        "scopes": ["a", "b"],
    }
    with pytest.raises(PatchbayError) as refused:
        Probe.parse({"blob": "AAE", "query": "a b", "scopes": ["a b", 1]})
    assert [(f.field, f.message) for f in refused.value.fields] == [
        ("blob", "Must be base64 (standard alphabet, with padding)."),
        ("query", "Must be a URL-encoded query string (no spaces or '#')."),
        ("scopes[0]", "Must not contain whitespace."),
        ("scopes[1]", "Must be a string."),
    ]


def test_parse_hands_its_context_to_the_fields_and_checks():
    from core.wire import Input

    class Probe(Input):
        name = Text(required=False)

        def check(self, data: Any, values: dict[str, Any]) -> dict[str, Any]:
            if values.get("name") in self.context["taken"]:
                return {"name": ["Already used."]}
            return {}

    assert Probe.parse({"name": "x"}, context={"taken": {"y"}}) == {"name": "x"}
    with pytest.raises(PatchbayError) as refused:
        Probe.parse({"name": "y"}, context={"taken": {"y"}})
    assert [(f.field, f.message) for f in refused.value.fields] == [("name", "Already used.")]


def test_an_output_renders_through_one_compiled_function():
    from types import SimpleNamespace

    from core.wire import Computed, Output, Timestamp, Uuid

    class Inner(Output):
        title = Text()

    class Probe(Output):
        id = Uuid(source="pk")
        nested = Inner(source="child", allow_null=True)
        deep = Text(source="child.title")
        at = Timestamp(allow_null=True)
        twice = Computed("double", Text())

        @staticmethod
        def double(obj: object) -> str:
            return "twice"

    obj = SimpleNamespace(pk=7, child=SimpleNamespace(title="l"), at=None)
    assert Probe.render(obj) == {
        "id": "7",
        "nested": {"title": "l"},
        "deep": "l",
        "at": None,
        "twice": "twice",
    }
    assert callable(Probe.__dict__["_plan"])
    obj.child = None
    with pytest.raises(AttributeError):  # a dotted source through None is a bug, not null
        Probe.render(obj)
