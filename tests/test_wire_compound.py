"""core.wire.compound: an object nested at a key, a list of objects and a oneOf by type
are validated and rendered from one declaration each (their documents are checked on the
connectors' auth scheme configs, tests/connectors/test_connectors_wire.py)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from core.errors import PatchbayError
from core.wire import (
    Choice,
    Input,
    Int,
    ListOf,
    Nested,
    OneOf,
    OneOfOutput,
    Output,
    Secret,
    Text,
    render_mapping,
)


class Point(Input):
    x = Int(required=True)
    y = Int(required=False, default=0, null_as=0)
    token = Secret(required=False)


class Shape(Input):
    name = Text(required=True)
    centre = Nested(Point, required=False)
    corners = ListOf(Nested(Point), max_items=2, required=False, message="Must be a list.")

    def check(self, data: Any, values: dict[str, Any]) -> dict[str, Any]:
        if "corners" in values and "centre" not in values:
            return {"name": ["Needs a centre with corners."]}
        return {}


def problems(declaration: type[Input], body: Any) -> list[tuple[str, str]]:
    with pytest.raises(PatchbayError) as refused:
        declaration.parse(body)
    return [(f.field, f.message) for f in refused.value.fields]


def test_a_nested_object_is_parsed_at_its_path():
    assert Shape.parse({"name": "s", "centre": {"x": 1}}) == {
        "name": "s",
        "centre": {"x": 1, "y": 0},
    }
    assert problems(Shape, {"name": "s", "centre": {"x": "1", "z": 2}}) == [
        ("centre.z", "Unknown field."),
        ("centre.x", "Must be a whole number."),
    ]
    assert problems(Shape, {"name": "s", "centre": []}) == [("centre", "Must be a JSON object.")]
    # null is no object: refused at its path, not read as absent.
    assert problems(Shape, {"name": "s", "centre": None}) == [
        ("centre", "Must be an object (or left out), not null.")
    ]


def test_a_list_of_objects_names_each_item_and_refuses_what_is_not_a_list():
    body: dict[str, Any] = {"name": "s", "centre": {"x": 0}, "corners": [{"x": 1}, None]}
    assert problems(Shape, body) == [("corners[1]", "Must be a JSON object.")]
    body["corners"] = [{"x": 1}, {"x": "no"}]
    assert problems(Shape, body) == [("corners[1].x", "Must be a whole number.")]
    body["corners"] = {"x": 1}
    assert problems(Shape, body) == [("corners", "Must be a list.")]
    body["corners"] = [{"x": 1}] * 3
    assert problems(Shape, body) == [("corners", "Must have at most 2 items.")]


class Outline(Input):
    name = Text(required=True)
    nested = ListOf(Nested(Point), max_items=3, required=False)
    bare = ListOf(Point(), max_items=3, required=False)


@pytest.mark.parametrize("key", ["nested", "bare"])
def test_a_patch_cannot_skip_the_required_keys_of_list_items(key):
    # A PATCH parses the body partially (name may be left out), but each item of a
    # list is a whole object, whether the child is Nested(Point) or a bare Point().
    assert Outline.parse({key: [{"x": 1}]}, partial=True) == {key: [{"x": 1, "y": 0}]}
    with pytest.raises(PatchbayError) as refused:
        Outline.parse({key: [{"x": 1}, {"y": 1}]}, partial=True)
    assert [(f.field, f.message) for f in refused.value.fields] == [
        (f"{key}[1].x", "This field is required.")
    ]


def test_check_reports_with_the_fields_and_in_their_order():
    # `centre` failed, so `check` sees no centre: its problem joins the others at `name`.
    body = {"name": 3, "centre": {"x": "a"}, "corners": [{"x": 1}]}
    assert problems(Shape, body) == [
        ("name", "Must be a string."),
        ("name", "Needs a centre with corners."),
        ("centre.x", "Must be a whole number."),
    ]


def test_a_stored_mapping_renders_its_declared_keys_without_write_only_ones():
    stored = {"name": "s", "centre": {"x": 1, "token": "t0p", "old": 1}, "extra": True}
    assert render_mapping(Shape, stored) == {"name": "s", "centre": {"x": 1}}
    corners = {"corners": [{"x": 1, "token": "t"}, {"y": 2}]}
    assert render_mapping(Shape, corners) == {"corners": [{"x": 1}, {"y": 2}]}


def test_text_that_may_not_be_blank_is_required_only_when_present():
    class Rename(Input):
        name = Text(required=False, allow_blank=False)

    assert Rename.parse({}) == {}
    assert problems(Rename, {"name": ""}) == [("name", "Must not be empty.")]


def test_a_callable_null_as_gives_a_fresh_value_each_time():
    class Tags(Input):
        tags = ListOf(Nested(Point), max_items=5, required=False, null_as=list)

    first, second = Tags.parse({"tags": None}), Tags.parse({"tags": None})
    assert first == {"tags": []}
    assert first["tags"] is not second["tags"]


class Circle(Input):
    type = Choice(("circle",), required=True)
    radius = Int(required=True, minimum=1)


class Square(Input):
    type = Choice(("square",), required=True)
    side = Int(required=True, minimum=1)


class Figure(OneOf):
    variants: ClassVar = {"circle": Circle, "square": Square}


def test_one_of_picks_the_variant_by_type():
    assert Figure.parse({"type": "circle", "radius": 2}) == {"type": "circle", "radius": 2}
    assert problems(Figure, {"type": "square", "radius": 2}) == [
        ("radius", "Unknown field."),
        ("side", "This field is required."),
    ]
    assert problems(Figure, {"type": "hexagon", "colour": 1, "side": 1}) == [
        ("colour", "Unknown field."),
        ("type", "Must be one of circle, square."),
    ]
    assert problems(Figure, {}) == [("type", "This field is required (one of circle, square).")]
    assert problems(Figure, [1]) == [("body", "Must be a JSON object.")]


def test_one_of_output_renders_the_variant_the_object_names():
    class Round(Output):
        kind = Text(source="type")
        radius = Int()

    class Output_(OneOfOutput):
        variants: ClassVar = {"circle": Round}

    class Thing:
        type = "circle"
        radius = 3

    assert Output_.render(Thing()) == {"kind": "circle", "radius": 3}
