"""core.wire beyond flat bodies: an Input nested as an object field, the wording options an
API kept from before it was declared, optional output keys and ``source="*"``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.errors import PatchbayError
from core.wire import Input, Output, Text, Url, Uuid


class Inner(Input):
    colour = Text(max_length=8, required=True)


class Outer(Input):
    name = Text(required=False)
    inner = Inner(
        required=True,
        required_message="Required: {colour}.",
        null_message="Not null.",
        not_object="Must be an object {colour}.",
    )


class Quirky(Input):
    body_message = "The body must be a JSON object."
    unknown_key_length = 4
    component = "Odd"

    name = Text(required=False)
    link = Url(required=False, allow_blank=True, null_as="")


def _fields(body: object, cls: type[Input] = Outer) -> list[tuple[str, str]]:
    with pytest.raises(PatchbayError) as refused:
        cls.parse(body)
    return [(f.field, f.message) for f in refused.value.fields]


def test_a_nested_input_is_validated_with_its_path():
    assert Outer.parse({"inner": {"colour": "teal"}}) == {"inner": {"colour": "teal"}}
    assert _fields({"inner": {"colour": "turquoise", "x": 1}}) == [
        ("inner.x", "Unknown field."),
        ("inner.colour", "Must be at most 8 characters."),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Required: {colour}."),
        ({"inner": None}, "Not null."),
        ({"inner": "teal"}, "Must be an object {colour}."),
        ({"inner": ["teal"]}, "Must be an object {colour}."),
    ],
)
def test_a_nested_input_words_a_missing_or_wrong_object_as_declared(body, message):
    assert _fields(body) == [("inner", message)]


def test_a_nested_input_that_is_not_required_may_be_absent_and_null_only_when_it_says_so():
    class Loose(Input):
        inner = Inner(required=False)

    class Lenient(Input):
        inner = Inner(required=False, null_message=None)

    assert Loose.parse({}) == {}
    assert _fields({"inner": None}, Loose) == [
        ("inner", "Must be an object (or left out), not null.")
    ]
    assert Lenient.parse({"inner": None}) == {}


def test_an_input_may_keep_the_wording_an_api_had_before():
    with pytest.raises(PatchbayError) as refused:
        Quirky.parse(["x"])
    assert (refused.value.status, refused.value.code) == (400, "invalid_request")
    assert refused.value.message == "The body must be a JSON object."
    assert refused.value.fields == []
    assert _fields({"abcdefgh": 1, "abcdxyz": 2}, Quirky) == [
        ("abcd", "Unknown field."),
        ("abcd", "Unknown field."),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("  ", "Must not contain whitespace or control characters."),
        ("ftp://x", "Must be an absolute https URL."),
        (5, "Must be a string."),
    ],
)
def test_a_url_is_checked_by_url_problem_only(value, message):
    assert _fields({"link": value}, Quirky) == [("link", message)]
    assert Quirky.parse({"link": ""}) == {"link": ""}
    assert Quirky.parse({"link": None}) == {"link": ""}


def test_a_required_url_that_is_empty_is_refused_in_the_projects_words():
    class Required(Input):
        url = Url(required=True)

    assert _fields({"url": ""}, Required) == [("url", "Must not be empty.")]


def test_an_input_may_keep_its_component_name():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    names = schema["components"]["schemas"]
    assert "EndUserRequest" in names
    assert "PatchedEndUserRequest" in names
    assert "EndUserCreateRequest" not in names
    assert "PatchedEndUserUpdateRequest" not in names


class Pointer(Output):
    id = Uuid(source="pk")


class Thing(Output):
    name = Text()
    same = Pointer(source="*")
    extra = Pointer(required=False)


def test_an_optional_output_key_is_answered_only_when_it_has_a_value():
    row = SimpleNamespace(pk="7", name="n", extra=None)
    assert Thing.render(row) == {"name": "n", "same": {"id": "7"}}
    row.extra = SimpleNamespace(pk="8")
    assert Thing.render(row) == {"name": "n", "same": {"id": "7"}, "extra": {"id": "8"}}


class Things(Output):
    items = Thing(many=True, source="*")


def test_a_list_output_of_a_whole_sequence():
    rows = [SimpleNamespace(pk=str(i), name=f"n{i}", extra=None) for i in range(2)]
    assert Things.render(rows) == {
        "items": [{"name": "n0", "same": {"id": "0"}}, {"name": "n1", "same": {"id": "1"}}]
    }
