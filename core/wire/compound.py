"""Compound wire fields of :mod:`core.wire`: an object nested at a key, a list of objects
(``ListOf`` for a list at a key of a stored mapping, ``ObjectList`` for a list of bodies),
and an object whose ``type`` picks its declaration (``oneOf`` in the document).

The same declarations validate, render and document: a :class:`Nested` object is parsed by
its :class:`~core.wire.Input` class and, on output, a stored mapping of that shape is
rendered with the declared keys only (write-only ones left out), through a plan compiled
once per class. :class:`OneOf` and :class:`OneOfOutput` are documented as ``oneOf`` their
variants with a ``discriminator``, as drf-spectacular's ``PolymorphicProxySerializer`` is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, cast

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.fields import empty

from core.wire.bodies import Input, Output
from core.wire.errors import NON_FIELD
from core.wire.fields import NOT_NULL_LIST, NOT_NULL_OBJECT, Choice, WireField

_Plan = list[tuple[str, Callable[[Any], Any] | None]]
_PLANS: dict[type[Input], _Plan] = {}


def render_mapping(declaration: type[Input], value: Any) -> Any:
    """A stored mapping of ``declaration``'s shape as answered: the declared keys it has,
    write-only ones left out, nested objects rendered alike."""
    if not isinstance(value, Mapping):
        return value
    plan = _PLANS.get(declaration)
    if plan is None:
        plan = _PLANS[declaration] = [
            (name, field.render_value if isinstance(field, (Nested, ListOf)) else None)
            for name, field in declaration._declared_fields.items()
            if not field.write_only
        ]
    out: dict[str, Any] = {}
    for key, convert in plan:
        if key in value:
            item = value[key]
            out[key] = item if convert is None else convert(item)
    return out


def unbound(owner: Any, name: str, make: Callable[[], Any]) -> Any:
    """``owner``'s own parser of a nested object, made once with its fields bound: an
    unbound :class:`~core.wire.Input` (its root is itself, so never partial and without
    the body's context, as a fresh one is). ``owner`` is a field of one parser instance,
    which :meth:`Input.parse` uses on one thread at a time."""
    parser = owner.__dict__.get(name)
    if parser is None:
        parser = owner.__dict__[name] = make()
        parser.fields  # noqa: B018 - bound now, once
    return parser


class Nested(WireField):
    """A JSON object declared by the :class:`~core.wire.Input` class ``declaration``."""

    def __init__(self, declaration: type[Input], **kwargs: Any) -> None:
        self.declaration = declaration
        if "null_as" not in kwargs:  # null is no object: refused unless it stands for a value
            kwargs.setdefault("null_message", NOT_NULL_OBJECT)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return unbound(self, "_parser", self.declaration).run_validation(data)

    def render_value(self, value: Any) -> Any:
        return None if value is None else render_mapping(self.declaration, value)


class ListOf(WireField, serializers.ListField):
    """At most ``max_items`` items, each a ``child`` (a :class:`Nested` or an
    :class:`~core.wire.Input`); ``message`` answers a value that is not a list. Each item
    is a whole object even in a PATCH: an ``Input`` child parses every item as a fresh,
    unbound copy, which does not inherit the parent body's ``partial``. (:class:`ObjectList`
    is the list of request bodies, each an ``Input`` with its own ``not_object`` wording.)"""

    def __init__(
        self,
        child: serializers.Field,
        *,
        max_items: int,
        message: str = "Must be a list of objects.",
        too_many: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.message = message
        self.too_many = too_many or f"Must have at most {max_items} items."
        if "null_as" not in kwargs:  # null is no list: refused unless it stands for a value
            kwargs.setdefault("null_message", NOT_NULL_LIST)
        super().__init__(child=child, max_length=max_items, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, list):
            raise serializers.ValidationError([self.message])
        if self.max_length is not None and len(data) > self.max_length:
            raise serializers.ValidationError([self.too_many])
        values: list[Any] = []
        errors: dict[int, Any] = {}
        for index, item in enumerate(data):
            try:
                if item is None:  # not an absent value here: an item that is not an object
                    raise serializers.ValidationError({NON_FIELD: ["Must be a JSON object."]})
                values.append(self._item_parser().run_validation(item))
            except serializers.ValidationError as exc:
                errors[index] = exc.detail
        if errors:
            raise serializers.ValidationError(cast(Any, errors))
        return values

    def _item_parser(self) -> serializers.Field:
        """The child, or for a serializer child a fresh unbound copy of it: bound here, its
        fields would read ``partial`` from the body's root and skip required keys."""
        if isinstance(self.child, serializers.BaseSerializer):
            return unbound(self, "_item", lambda: copy.deepcopy(self.child))
        return self.child

    def render_value(self, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        if isinstance(self.child, WireField):
            convert = self.child.render_value
            return [convert(item) for item in value]
        return list(value)


class OneOf(Input):
    """A JSON object whose ``discriminator`` key picks the :class:`~core.wire.Input` class
    in ``variants`` that declares the whole object. Keys that no variant knows are unknown
    even when the discriminator is missing or wrong; otherwise the variant judges them."""

    discriminator: ClassVar[str] = "type"
    variants: ClassVar[Mapping[str, type[Input]]] = {}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({NON_FIELD: ["Must be a JSON object."]})
        choice = self.__dict__.get("_choice") or self.__dict__.setdefault(
            "_choice", Choice(self.variants, required=True)
        )
        try:
            kind = choice.run_validation(data.get(self.discriminator, empty))
        except serializers.ValidationError as exc:
            known = {self.discriminator}
            for variant in self.variants.values():
                known |= {*variant._declared_fields, *variant.echo}
            unknown = {key: [self.unknown_message] for key in data if key not in known}
            raise serializers.ValidationError({**unknown, self.discriminator: exc.detail}) from exc
        return unbound(self, f"_variant_{kind}", self.variants[kind]).run_validation(data)


class OneOfOutput(Output):
    """A response object rendered by the :class:`~core.wire.Output` class in ``variants``
    that the object's attribute ``discriminator`` names."""

    discriminator: ClassVar[str] = "type"
    variants: ClassVar[Mapping[str, type[Output]]] = {}

    @classmethod
    def render(cls, instance: Any) -> dict[str, Any]:
        return cls.variants[getattr(instance, cls.discriminator)].render(instance)


def _one_of(auto_schema: Any, direction: Any, target: Any) -> dict[str, Any]:
    refs = {
        key: auto_schema.resolve_serializer(variant(), direction).ref
        for key, variant in target.variants.items()
    }
    return {
        "oneOf": list(refs.values()),
        "discriminator": {
            "propertyName": target.discriminator,
            "mapping": {key: ref["$ref"] for key, ref in refs.items()},
        },
    }


class OneOfExtension(OpenApiSerializerExtension):
    target_class = "core.wire.OneOf"
    match_subclasses = True
    priority = 1  # before core.wire's InputExtension, which matches these too

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return _one_of(auto_schema, direction, self.target)


class OneOfOutputExtension(OpenApiSerializerExtension):
    target_class = "core.wire.OneOfOutput"
    match_subclasses = True
    priority = 1

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return _one_of(auto_schema, direction, self.target)


class NestedExtension(OpenApiSerializerFieldExtension):
    target_class = "core.wire.Nested"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        component = auto_schema.resolve_serializer(self.target.declaration(), direction)
        return component.ref


class ObjectList(WireField):
    """A list of objects, each checked by the :class:`Input` ``child`` (never partial: a
    PATCH replaces a list whole). Only the first ``check_first`` items are read, when
    given; ``null`` is refused (it would read as "no items" and empty the list)."""

    def __init__(
        self,
        child: Input,
        *,
        not_list: str = "Must be a list.",
        check_first: int | None = None,
        **kwargs: Any,
    ) -> None:
        if "null_as" not in kwargs:
            kwargs.setdefault("null_message", NOT_NULL_LIST)
        super().__init__(**kwargs)
        self.child = child  # unbound: a partial parent leaves the items whole
        self.not_list = not_list
        self.check_first = check_first

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, list):
            raise serializers.ValidationError(self.not_list)
        values: list[Any] = []
        errors: dict[str, Any] = {}  # "[0]": paths relative to the field (field_errors)
        for index, item in enumerate(data[: self.check_first]):
            if not isinstance(item, Mapping):
                errors[f"[{index}]"] = [self.child.not_object]
                continue
            try:
                values.append(self.child.run_validation(item))
            except serializers.ValidationError as exc:
                errors[f"[{index}]"] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return values


class ObjectListExtension(OpenApiSerializerFieldExtension):
    target_class = "core.wire.ObjectList"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        items = auto_schema._map_serializer_field(self.target.child, direction)
        schema: dict[str, Any] = {"type": "array", "items": items}
        if self.target.help_text:
            schema["description"] = str(self.target.help_text)
        return schema
