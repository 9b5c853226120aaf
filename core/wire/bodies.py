"""``Input`` (a request body) and ``Output`` (a response object), and their document."""

from __future__ import annotations

import keyword
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.fields import SkipField

from core.errors import FieldError, PatchbayError
from core.time import iso
from core.wire.errors import NON_FIELD, field_errors, invalid_request
from core.wire.fields import NOT_NULL_OBJECT, Computed, StringList, Timestamp, Uuid, WireField

# --- Serializers ----------------------------------------------------------------------


_PARSERS = threading.local()


class Input(serializers.Serializer):
    """A request body: a JSON object with only the declared keys (and ``echo``, keys a
    client may send back from a response, which are ignored; ``open``: any other key is).

    Nested in another Input it is an object field: ``null`` is refused (``null_message``,
    by default :data:`NOT_NULL_OBJECT`) unless ``null_message=None`` lets it be absent,
    and ``not_object`` words the refusal of a value that is not an object
    (``required_message`` the refusal of a missing one). ``source="*"`` merges its values
    into the parent's."""

    echo: ClassVar[frozenset[str]] = frozenset()
    #: The document's schema of an ``echo`` key whose value :meth:`check` restricts (by
    #: default it is ``readOnly``: any value, never sent by a generator).
    echo_schemas: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    open: ClassVar[bool] = False
    #: Parsed whole even inside a PATCH (a wrapper whose one key is always required): its
    #: ``Patched…`` component keeps ``required``.
    whole: ClassVar[bool] = False
    unknown_message: ClassVar[str] = "Unknown field."
    #: The document's component name (``Patched…``/``…Request`` are added), when an API
    #: kept its name from before the class that declares it.
    component: ClassVar[str | None] = None
    #: A body that is not an object is one 400 with this message and no ``fields``, where
    #: an API answered so before it was declared here (else ``body``: "Must be a JSON object.").
    body_message: ClassVar[str | None] = None
    #: Unknown keys are named by their first characters only, where an API did so before.
    unknown_key_length: ClassVar[int | None] = None
    _parsing: bool = False

    def __init__(
        self,
        *args: Any,
        null_message: str | None = NOT_NULL_OBJECT,
        not_object: str = "Must be a JSON object.",
        required_message: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.null_message = null_message
        self.not_object = not_object
        super().__init__(*args, **kwargs)
        if required_message is not None:  # DRF formats the message: braces are literal
            self.error_messages["required"] = required_message.replace("{", "{{").replace("}", "}}")

    @classmethod
    def parse(
        cls,
        data: Any,
        *,
        partial: bool = False,
        code: str = "invalid_request",
        instance: Any = None,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """The validated values of ``data`` (absent keys are absent), or one 400.
        ``instance`` is the object a body changes, for fields that compare with it;
        ``context`` is what fields and :meth:`check` read (``self.context``)."""
        if not isinstance(data, Mapping):  # DRF would answer None with "No data provided"
            if cls.body_message is not None:
                raise PatchbayError(code, cls.body_message, 400)
            raise invalid_request([FieldError("body", "Must be a JSON object.")], code)
        with cls.parsing(data, partial=partial, instance=instance, context=context) as serializer:
            if not serializer.is_valid():
                raise invalid_request(field_errors(serializer.errors), code)
            return serializer.validated_data

    @classmethod
    @contextmanager
    def parsing(
        cls,
        data: Any,
        *,
        partial: bool = False,
        instance: Any = None,
        context: Mapping[str, Any] | None = None,
    ) -> Iterator[Input]:
        """An instance of the class holding ``data``, for ``is_valid()``: this thread's
        idle one, its fields bound once (DRF copies and binds every declared field per
        instance, most of a small body's parse), or a fresh one while that one is in use
        (a :meth:`check` that parses its own class). Afterwards it keeps no value."""
        idle: dict[type[Input], Input] = _PARSERS.__dict__.setdefault("idle", {})
        serializer = idle.get(cls)
        if serializer is None or serializer._parsing:
            serializer = cls()
            serializer.fields  # noqa: B018 - bound now, once
            idle.setdefault(cls, serializer)
        serializer._parsing = True
        serializer.instance, serializer.initial_data = instance, data
        serializer.partial, serializer._context = partial, dict(context or {})
        try:
            yield serializer
        finally:
            serializer._idle()

    def _idle(self) -> None:
        self.instance, self.initial_data, self.partial, self._context = None, None, False, {}
        self.__dict__.pop("_validated_data", None)
        self.__dict__.pop("_errors", None)
        self._parsing = False

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None and self.parent is not None:
            if self.null_message is not None:
                raise serializers.ValidationError(self.null_message)
            if self.required and not getattr(self.root, "partial", False):
                self.fail("required")
            raise SkipField()
        result: tuple[bool, Any] = super().validate_empty_values(data)
        return result

    def null_accepted(self) -> bool:
        return self.null_message is None and not self.required

    def check(self, data: Mapping[str, Any], values: dict[str, Any]) -> Mapping[str, Any]:
        """Rules across fields, as problems keyed by field name (or ``NON_FIELD``). Unlike
        DRF's ``validate`` it runs when some fields failed too (``values`` holds those that
        parsed), so every problem of a body is reported at once, at its field's place."""
        return {}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({NON_FIELD: [self.not_object]})
        unknown: dict[str, list[str]] = {}
        for key in data:
            if not self.open and key not in self.fields and key not in self.echo:
                cut = self.unknown_key_length
                name = str(key) if cut is None else str(key)[:cut]
                unknown.setdefault(name, []).append(self.unknown_message)
        values: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for field in self._writable_fields:
            try:
                value = field.run_validation(field.get_value(data))
            except serializers.ValidationError as exc:
                errors[str(field.field_name)] = exc.detail
            except SkipField:
                continue
            else:
                self.set_value(values, field.source_attrs, value)
        for key, detail in self.check(data, values).items():
            errors[key] = _merged(errors.get(key), detail)
        if unknown or errors:
            declared: list[str] = list(self.fields)
            ordered = {name: errors.pop(name) for name in declared if name in errors}
            raise serializers.ValidationError({**unknown, **ordered, **errors})
        return values


class Output(serializers.Serializer):
    """A response object. :meth:`render` is what the views call.

    A field with ``required=False`` is a key answered only when its value is not None (the
    document lists it as optional); ``source="*"`` renders the object itself (a nested
    output of the same row, a list output of a whole sequence)."""

    _plan: ClassVar[Callable[[Any], dict[str, Any]] | None] = None

    @classmethod
    def render(cls, instance: Any) -> dict[str, Any]:
        return (cls.__dict__.get("_plan") or cls._compile())(instance)

    @classmethod
    def renderer(cls) -> Callable[[Any], dict[str, Any]]:
        """:meth:`render` without the look-up, for a loop or an enclosing output (or the
        class's own :meth:`render` where it has one, e.g. a oneOf by type)."""
        if cls.render.__func__ is not Output.render.__func__:  # type: ignore[attr-defined]
            return cls.render
        return cls.__dict__.get("_plan") or cls._compile()

    @classmethod
    def _compile(cls) -> Callable[[Any], dict[str, Any]]:
        """The class's render function, written once as the code one would write by hand
        (``{"id": str(o.pk), "name": o.name, ...}``): every key is one expression, with no
        call per field that the value itself does not need."""
        names: dict[str, Any] = {"_all": _all}
        always: list[str] = []
        optional: list[str] = []
        for name, field in cls._declared_fields.items():
            if field.write_only:
                continue
            expression = cls._expression(name, field, names)
            if field.required or field.read_only:
                always.append(f"{name!r}: {expression}")
            else:
                optional += [
                    f"    if (v := {expression}) is not None:",
                    f"        out[{name!r}] = v",
                ]
        source = "\n".join(
            ["def render(o):", f"    out = {{{', '.join(always)}}}", *optional, "    return out"]
        )
        # Only declared names and bound objects go in: no value from a request or a row.
        exec(compile(source, f"<{cls.__qualname__}.render>", "exec"), names)  # noqa: S102
        cls._plan = names["render"]
        return cls._plan

    @classmethod
    def _expression(cls, name: str, field: serializers.Field, names: dict[str, Any]) -> str:
        def bound(value: Any) -> str:
            key = f"_{len(names)}"
            names[key] = value
            return key

        if isinstance(field, Computed):
            return f"{bound(getattr(cls, field.method))}(o)"
        source = str(field.source or name)
        if source == "*":
            read = "o"
        elif all(p.isidentifier() and not keyword.iskeyword(p) for p in source.split(".")):
            read = f"o.{source}"
        else:
            read = f"{bound(operator.attrgetter(source))}(o)"
        if isinstance(field, Output):
            nested = bound(type(field).renderer())
            return (
                f"{nested}({read})"
                if read == "o"
                else f"(None if (v := {read}) is None else {nested}(v))"
            )
        if isinstance(field, serializers.ListSerializer) and isinstance(field.child, Output):
            return f"[{bound(type(field.child).renderer())}(x) for x in _all({read})]"
        if isinstance(field, WireField):
            convert = type(field).render_value
            if convert in _INLINE:
                return _INLINE[convert].format(read, iso=bound(iso))
            if convert is not WireField.render_value:
                return f"{bound(field.render_value)}({read})"
        return read

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return self.render(instance)


def _merged(first: Any, then: Any) -> Any:
    """Two error details of one key as one (lists joined, mappings merged by key)."""
    if first is None:
        return then
    if isinstance(first, Mapping) or isinstance(then, Mapping):
        a = first if isinstance(first, Mapping) else {NON_FIELD: first}
        b = then if isinstance(then, Mapping) else {NON_FIELD: then}
        return {**a, **{key: _merged(a.get(key), value) for key, value in b.items()}}
    return [*first, *then]


# What the usual converters are when written inline (``{}`` is the value read).
_INLINE: dict[Any, str] = {
    Uuid.render_value: "(None if (v := {}) is None else str(v))",
    Timestamp.render_value: "{iso}({})",
    StringList.render_value: "list({} or ())",
}


def _all(value: Any) -> Iterable[Any]:
    """A related manager's rows (prefetched) or a plain iterable."""
    return value.all() if hasattr(value, "all") else value


def _own_description(schema: dict[str, Any], target: Any) -> dict[str, Any]:
    """A component's description is its own class's docstring, never a base class's."""
    klass = target if isinstance(target, type) else type(target)
    if not klass.__dict__.get("__doc__"):
        schema.pop("description", None)
    return schema


class InputExtension(OpenApiSerializerExtension):
    """Inputs are closed objects (``additionalProperties: false``) unless ``open``: the
    keys they ignore (``echo``) are listed as ``readOnly`` properties, which a client may
    send back and a generator never sends. Each property carries its field's
    :meth:`~core.wire.WireField.schema_facts` (patterns, formats), and ``nullable`` exactly
    where ``null`` parses."""

    target_class = "core.wire.Input"
    match_subclasses = True

    def get_name(self, auto_schema: Any, direction: Any) -> str | None:
        return self.target.component

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "response" or not self.target.open:
            schema["additionalProperties"] = False
        if direction == "request":
            required = [n for n, f in self.target.fields.items() if f.required]
            if self.target.whole and required:
                schema["required"] = required
            _add_facts(schema, self.target)
            _mark_nullable(schema, self.target)
        return _own_description(schema, self.target)


ECHO_SCHEMA = {
    "readOnly": True,
    "description": "A key of the response, accepted when sent back and ignored.",
}


def _add_facts(schema: dict[str, Any], target: Input) -> None:
    """Each property's :meth:`~core.wire.WireField.schema_facts`, merged in (a ``$ref``
    property is an object declared elsewhere and has none); then :data:`NO_NUL` on every
    string that has no pattern of its own."""
    properties = schema.get("properties", {})
    for name, field in target.fields.items():
        prop = properties.get(name)
        facts = getattr(field, "schema_facts", None)
        if prop is None or field.read_only or "$ref" in prop:
            continue
        if facts is not None:
            _merge(prop, facts())
        _no_nul(prop)


#: The parser refuses a NUL character in any string of a body (``core.api``: PostgreSQL
#: cannot store it), which the patterns of text fields say already.
NO_NUL = "^[^\\x00]*$"


def _no_nul(schema: Any) -> None:
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema):
        schema["pattern"] = NO_NUL
    for key in ("items", "additionalProperties"):
        _no_nul(schema.get(key))
    for value in schema.get("properties", {}).values():
        _no_nul(value)


def _merge(schema: dict[str, Any], facts: Mapping[str, Any]) -> None:
    for key, value in facts.items():
        if value is None:
            schema.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(schema.get(key), dict):
            _merge(schema[key], value)
        else:
            schema[key] = value


def _null_accepted(field: serializers.Field) -> bool:
    rule = getattr(field, "null_accepted", None)
    return rule() if callable(rule) else bool(field.allow_null)


def _mark_nullable(schema: dict[str, Any], target: Input) -> None:
    """``nullable`` on exactly the properties whose field parses ``null``, so the document
    and the parser never disagree (a ``$ref`` cannot carry it: it goes in an ``allOf``)."""
    properties = schema.get("properties", {})
    for name, field in target.fields.items():
        prop = properties.get(name)
        if prop is None or field.read_only:
            continue
        if not _null_accepted(field):
            prop.pop("nullable", None)
        elif "$ref" in prop:
            properties[name] = {"allOf": [prop], "nullable": True}
        else:
            prop["nullable"] = True


class OutputExtension(OpenApiSerializerExtension):
    """Outputs are closed objects: :meth:`Output.render` answers exactly the declared keys."""

    target_class = "core.wire.Output"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return _own_description(schema, self.target)
