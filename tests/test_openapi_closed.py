"""The document's request bodies are closed exactly where the server refuses unknown keys
(issue 18, item 13), derived from the declarations that parse them: each request component
is checked against the :class:`core.wire.Input` that drf-spectacular made it from."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework.exceptions import ValidationError

from core.wire import Input, OneOf
from core.wire.bodies import ECHO_SCHEMA

UNKNOWN = "zzUnknownKey"


@pytest.fixture(scope="module")
def generated() -> tuple[dict[str, Any], dict[str, Any]]:
    """The document and, by component name, the serializer each component was made from."""
    generator = SchemaGenerator()
    document = generator.get_schema(request=None, public=True)
    made_from = {
        component.name: component.object
        for component in generator.registry._components.values()
        if component.type == "schemas"
    }
    return document, made_from


def _request_bodies(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(operation, component name) of every JSON request body."""
    bodies = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                ref = content["application/json"]["schema"]["$ref"]
                bodies.append((f"{method.upper()} {path}", ref.rsplit("/", 1)[1]))
    return bodies


def _request_inputs(generated: Any) -> list[tuple[str, Input]]:
    _, made_from = generated
    return sorted(
        (name, obj)
        for name, obj in made_from.items()
        if isinstance(obj, Input) and not isinstance(obj, OneOf) and name.endswith("Request")
    )


def test_every_json_request_body_is_declared_by_an_input(generated):
    document, made_from = generated
    bodies = _request_bodies(document)
    assert len(bodies) >= 20
    for operation, name in bodies:
        declaration = made_from[name]
        if isinstance(declaration, PolymorphicProxySerializer):  # a oneOf by type of Inputs
            variants = list(declaration.serializers.values())
            assert all(_is_input(v) for v in variants), f"{operation}: {name}"
        else:
            assert isinstance(declaration, Input), f"{operation}: {name} is not a core.wire Input"


def test_a_body_is_closed_exactly_where_its_input_refuses_unknown_keys(generated):
    document, _ = generated
    schemas = document["components"]["schemas"]
    inputs = _request_inputs(generated)
    assert len(inputs) >= 40
    closed = 0
    for name, declaration in inputs:
        schema = schemas[name]
        errors = _parse_errors(declaration, {UNKNOWN: 1})
        if declaration.open:
            assert schema.get("additionalProperties") is not False, name
            assert UNKNOWN not in errors, name
        else:
            closed += 1
            assert schema["additionalProperties"] is False, name
            # The key named, or (GrantCredential) the whole object refused in its own words.
            refused = errors.get(UNKNOWN) == [declaration.unknown_message]
            assert refused or set(errors) == {"non_field_errors"}, (name, errors)
    assert closed >= len(inputs) - 2  # the open ones are few (CredentialPointer)


def test_echoed_keys_are_documented_read_only_and_ignored(generated):
    document, _ = generated
    schemas = document["components"]["schemas"]
    with_echo = [(n, d) for n, d in _request_inputs(generated) if d.echo]
    assert with_echo
    for name, declaration in with_echo:
        properties = schemas[name]["properties"]
        for key in declaration.echo - set(declaration.fields):
            if key in declaration.echo_schemas:  # a value the body's checks restrict
                assert properties[key] == declaration.echo_schemas[key], name
                assert properties[key]["enum"] == [None], name
                value = None
            else:
                assert properties[key] == ECHO_SCHEMA, name
                value = "anything"
            assert key not in _parse_errors(declaration, {key: value}), (name, key)


def test_every_declared_field_is_a_property(generated):
    document, _ = generated
    schemas = document["components"]["schemas"]
    for name, declaration in _request_inputs(generated):
        writable = {n for n, f in declaration.fields.items() if not f.read_only}
        assert writable <= set(schemas[name].get("properties", {})), name


def test_the_oneof_bodies_are_closed_in_every_variant(generated):
    document, made_from = generated
    schemas = document["components"]["schemas"]
    unions = [
        name
        for name, obj in made_from.items()
        if isinstance(obj, (OneOf, PolymorphicProxySerializer))
    ]
    assert unions
    for name in unions:
        if not name.endswith("Request"):
            continue
        for ref in schemas[name]["oneOf"]:
            assert schemas[ref["$ref"].rsplit("/", 1)[1]]["additionalProperties"] is False


def _is_input(declaration: Any) -> bool:
    return isinstance(declaration, Input) or (
        isinstance(declaration, type) and issubclass(declaration, Input)
    )


def _parse_errors(declaration: Input, data: dict[str, Any]) -> dict[str, Any]:
    """The errors of ``data`` as a PATCH of ``declaration`` (absent keys are no error)."""
    serializer = type(declaration)(data=data, partial=True)
    try:
        serializer.run_validation(data)
    except ValidationError as exc:
        errors = exc.detail
        return dict(errors) if isinstance(errors, dict) else {"non_field_errors": list(errors)}
    return {}
