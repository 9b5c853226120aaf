"""core.wire's nested declarations: an Input as an object field, ObjectList, open inputs —
validated with their paths and documented from the same classes."""

from __future__ import annotations

import threading

import pytest

import core.wire.bodies
from connections.inputs import CredentialPointer, InitialiseRequest
from core.errors import PatchbayError
from core.text import text_pattern
from core.wire import Input, ObjectList, Text


class Item(Input):
    key = Text(max_length=5, required=True)


class Holder(Input):
    name = Text(required=False)
    item = Item(required=False, not_object="Must be {key}.")
    needed = Item(source="*", required=False, null_message="Not null.")
    items = ObjectList(Item(), check_first=3, required=False)


def problems(body, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(PatchbayError) as refused:
        Holder.parse(body, **kwargs)
    return [(f.field, f.message) for f in refused.value.fields]


def test_a_nested_input_reports_its_fields_under_its_path():
    assert problems({"item": {"key": "toolong", "x": 1}}) == [
        ("item.x", "Unknown field."),
        ("item.key", "Must be at most 5 characters."),
    ]


def test_a_nested_input_words_a_value_that_is_not_an_object_its_own_way():
    assert problems({"item": "k"}) == [("item", "Must be {key}.")]


def test_a_nested_null_is_refused_in_its_own_words_or_the_default_ones():
    assert problems({"item": None}) == [("item", "Must be an object (or left out), not null.")]
    assert problems({"needed": None}) == [("needed", "Not null.")]


def test_a_nested_input_with_source_star_merges_its_values():
    assert Holder.parse({"needed": {"key": "k"}, "name": "n"}) == {"key": "k", "name": "n"}


def test_an_object_list_names_each_item_by_index():
    assert problems({"items": [None, {}, {"key": "a", "y": 2}]}) == [
        ("items[0]", "Must be a JSON object."),
        ("items[1].key", "This field is required."),
        ("items[2].y", "Unknown field."),
    ]
    assert problems({"items": {"key": "a"}}) == [("items", "Must be a list.")]


def test_an_object_list_reads_only_its_first_items_and_null_is_refused():
    parsed = Holder.parse({"items": [{"key": "a"}] * 3 + [None]})
    assert parsed["items"] == [{"key": "a"}] * 3
    # null would read as "no items" and empty the list: refused instead.
    assert problems({"items": None}) == [("items", "Must be a list (or left out), not null.")]


def test_the_items_of_an_object_list_are_whole_in_a_partial_body():
    assert problems({"items": [{}]}, partial=True) == [("items[0].key", "This field is required.")]


def test_an_open_input_ignores_unknown_keys():
    parsed = InitialiseRequest.parse(
        {
            "authorizeUrl": "https://provider.example/authorize",
            "clientId": "c",
            "credential": {"id": "i", "organisationId": "o", "name": "copied along"},
        }
    )
    assert parsed["credential_id"] == "i"


def _schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()["components"]["schemas"]


def test_a_field_added_to_a_nested_input_is_validated_and_documented(alice, monkeypatch):
    monkeypatch.setitem(
        CredentialPointer._declared_fields, "label", Text(max_length=8, required=False)
    )
    monkeypatch.setattr(core.wire.bodies, "_PARSERS", threading.local())  # bound anew
    body = {
        "authorizeUrl": "https://provider.example/authorize",
        "clientId": "c",
        "credential": {"id": "i", "organisationId": "o", "label": "x" * 9},
    }
    with pytest.raises(PatchbayError) as refused:
        InitialiseRequest.parse(body)
    assert [f.field for f in refused.value.fields] == ["credential.label"]

    schemas = _schema(alice.client)
    assert schemas["CredentialPointerRequest"]["properties"]["label"] == {
        "type": "string",
        "maxLength": 8,
        "pattern": text_pattern(),  # the parser's rule: no control characters
        "nullable": True,
    }
    assert schemas["InitialiseRequestRequest"]["properties"]["credential"] == {
        "$ref": "#/components/schemas/CredentialPointerRequest"
    }
