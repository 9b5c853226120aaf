"""One declaration per wire format: the serializers that validate input, render output
and describe both in the OpenAPI document.

An :class:`Input` is strict as SPEC §4 asks: a body that is not an object, an unknown
key, a control character, a value out of range — each is a :class:`FieldError` at its
path (``a.b[0].c``) and together one 400 :class:`PatchbayError`. ``null`` counts as
absent unless a field says otherwise (``null_message`` refuses it, ``null_as`` stores a
value). Messages describe what is wrong, never the value: a rejected value may be a
secret pasted into the wrong field.

An :class:`Output` renders a model with :meth:`Output.render`: a plan compiled once per
class from the declared fields (attribute path and converter per key), so the hot paths
pay for a dict build, not for DRF's per-instance field copies. The same class is what the
views name in ``extend_schema``, so the document is generated from what renders.

Fields subclass DRF's own (``CharField``, ``BooleanField``…) so drf-spectacular maps
their type, length and format without help; their parsing is the project's.

Longer than 400 lines on purpose while the apps move onto it: every app adds its field
kinds here in parallel, and one module keeps those small edits from colliding with a
package split. Split it (errors, fields, serializers, schema) once the conversion is done.
"""

from __future__ import annotations

import keyword
import operator
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from django.core.validators import URLValidator
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from core import validation as v
from core.errors import FieldError, PatchbayError
from core.time import iso

NON_FIELD = "non_field_errors"


# --- Errors ---------------------------------------------------------------------------


def field_errors(detail: Any, path: str = "") -> list[FieldError]:
    """DRF's nested error detail as ``[FieldError("a.b[0].c", "...")]``, in order."""
    if isinstance(detail, Mapping):
        out: list[FieldError] = []
        for key, value in detail.items():
            if key == NON_FIELD:
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            elif str(key).startswith("["):  # a relative path from a core.validation cleaner
                child = f"{path}{key}"
            else:
                child = f"{path}.{key}" if path else str(key)
            out.extend(field_errors(value, child))
        return out
    if isinstance(detail, Sequence) and not isinstance(detail, str):
        if all(isinstance(item, str) for item in detail):
            return [FieldError(path or "body", str(item)) for item in detail]
        out = []
        for index, item in enumerate(detail):
            out.extend(field_errors(item, f"{path}[{index}]"))
        return out
    return [FieldError(path or "body", str(detail))]


def invalid_request(fields: list[FieldError], code: str = "invalid_request") -> PatchbayError:
    """One 400 for every problem, worded as :class:`core.validation.Problems` words it."""
    problems = v.Problems()
    problems.fields = fields
    try:
        problems.raise_if_any(code)
    except PatchbayError as exc:
        return exc
    raise AssertionError("no problems to report")  # pragma: no cover


def cleaned(run: Callable[[v.Problems], Any]) -> Any:
    """Run a ``core.validation`` cleaner given the path ``""`` and raise what it noted as
    DRF's ``ValidationError``, with paths relative to the field (``""``, ``[0]``, ``a.b``)."""
    problems = v.Problems()
    value = run(problems)
    if not problems:
        return value
    if all(f.field in ("", "body") for f in problems.fields):
        raise serializers.ValidationError([f.message for f in problems.fields])
    detail: dict[str, list[str]] = {}
    for f in problems.fields:
        detail.setdefault(NON_FIELD if f.field in ("", "body") else f.field, []).append(f.message)
    raise serializers.ValidationError(detail)


# --- Fields ---------------------------------------------------------------------------


class WireField(serializers.Field):
    """What every wire field shares: ``null`` is absent unless ``null_message`` refuses it
    or ``null_as`` gives the value it stands for; :meth:`render_value` is the output side."""

    def __init__(
        self,
        *,
        null_message: str | None = None,
        null_as: Any = empty,
        required_message: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.null_message = null_message
        self.null_as = null_as
        if required_message is not None:
            kwargs.setdefault("error_messages", {})["required"] = required_message
        # ``allow_null`` is what the schema says (``nullable``); parsing follows the rules above.
        super().__init__(**kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is empty:
            if getattr(self.root, "partial", False):
                raise SkipField()
            if self.default is not empty:
                return True, self.get_default()
            if not self.required:
                raise SkipField()
            self.fail("required")
        if data is None:
            if self.null_message is not None:
                raise serializers.ValidationError(self.null_message)
            if self.null_as is not empty:
                return True, self.null_as() if callable(self.null_as) else self.null_as
            if self.required:
                self.fail("required")
            raise SkipField()
        return False, data

    def render_value(self, value: Any) -> Any:
        return value

    def to_representation(self, value: Any) -> Any:
        return self.render_value(value)


class Text(WireField, serializers.CharField):
    """A string without control characters (newlines and tabs too when ``multiline``)."""

    def __init__(self, *, max_length: int = 512, multiline: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        required = kwargs.get("required", False)
        kwargs.setdefault("allow_blank", not required)
        if required or not kwargs["allow_blank"]:  # not blank: required when present
            kwargs.setdefault("min_length", 1)
        # The length validators DRF adds stay (the document reads them); the project's rules
        # below refuse first, with its own words.
        super().__init__(max_length=max_length, trim_whitespace=False, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        # CharField's own would answer "may not be blank" before the project's rules run.
        return serializers.Field.run_validation(self, data)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(
            lambda p: v.clean_text(
                data,
                "",
                p,
                max_length=self.max_length or 512,
                required=self.required or not self.allow_blank,
                multiline=self.multiline,
            ),
        )


class Secret(Text):
    """A write-only string: never rendered, never in a response schema."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("write_only", True)
        super().__init__(**kwargs)


class Url(WireField, serializers.URLField):
    """An absolute https URL (see :func:`core.validation.url_problem`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=v.MAX_URL_LENGTH, trim_whitespace=False, **kwargs)
        # Django's URLValidator has rules of its own (TLDs, hosts); url_problem is the rule.
        self.validators = [x for x in self.validators if not isinstance(x, URLValidator)]

    def run_validation(self, data: Any = empty) -> Any:
        # CharField's own would answer "may not be blank" (and trim) before url_problem runs.
        return serializers.Field.run_validation(self, data)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: v.clean_url(data, "", p, required=self.required))


class Bool(WireField, serializers.BooleanField):
    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: v.clean_bool(data, "", p))


class Int(WireField, serializers.IntegerField):
    """A whole number from ``minimum`` to ``maximum`` (output-only fields may leave them)."""

    def __init__(self, *, minimum: int | None = None, maximum: int | None = None, **kwargs: Any):
        super().__init__(min_value=minimum, max_value=maximum, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        low = -(2**63) if self.min_value is None else int(self.min_value)
        high = 2**63 - 1 if self.max_value is None else int(self.max_value)
        return cleaned(lambda p: v.clean_int(data, "", p, minimum=low, maximum=high))


class Choice(WireField):
    """A string with a fixed set of values, documented inline (``{"type": "string",
    "enum": [...]}``): no enum components, so the same value (``none``, ``basic-auth``)
    may appear in several schemas without naming collisions."""

    def __init__(self, values: Iterable[str], **kwargs: Any) -> None:
        self.values = tuple(str(value) for value in values)
        if kwargs.get("required") and "required_message" not in kwargs:
            kwargs["required_message"] = (
                f"This field is required (one of {', '.join(self.values)})."
            )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: v.clean_choice(data, "", p, self.values))


class Timestamp(WireField, serializers.DateTimeField):
    """ISO 8601 with a timezone in, UTC with a ``Z`` out."""

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: v.clean_datetime(data, "", p))

    def render_value(self, value: datetime | None) -> str | None:
        return iso(value)


class Uuid(WireField, serializers.UUIDField):
    """An id on output (``str(uuid)``)."""

    def render_value(self, value: Any) -> str | None:
        return None if value is None else str(value)


class StringList(WireField, serializers.ListField):
    """At most ``max_items`` strings (or values of ``choices``), each checked as :class:`Text`."""

    def __init__(
        self,
        *,
        max_items: int = v.MAX_LIST_ITEMS,
        max_length: int = 256,
        no_whitespace: bool = False,
        choices: Collection[str] | None = None,
        unique_sorted: bool = False,
        **kwargs: Any,
    ) -> None:
        self.options: dict[str, Any] = {
            "max_items": max_items,
            "max_length": max_length,
            "no_whitespace": no_whitespace,
            "choices": choices,
        }
        self.unique_sorted = unique_sorted
        child: serializers.Field = (
            Choice(choices) if choices is not None else serializers.CharField(max_length=max_length)
        )
        super().__init__(child=child, max_length=max_items, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        items = cleaned(lambda p: v.clean_string_list(data, "", p, **self.options))
        return sorted(set(items)) if self.unique_sorted else items

    def render_value(self, value: Any) -> list[Any]:
        return list(value or [])


class ObjectList(WireField):
    """A list of objects, each checked by the :class:`Input` ``child`` (never partial: a
    PATCH replaces a list whole). Only the first ``check_first`` items are read, when
    given; ``null`` is an empty list."""

    def __init__(
        self,
        child: Input,
        *,
        not_list: str = "Must be a list.",
        check_first: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("null_as", [])
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


class Base64(Text):
    """Standard base64 (RFC 4648 §4) with padding, at most ``max_length`` characters."""

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(
            lambda p: v.clean_base64(
                data, "", p, max_length=self.max_length or 512, required=self.required
            )
        )


class QueryString(Text):
    """A URL-encoded query string (``a=1&b=2``) of at most ``max_length`` bytes."""

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(
            lambda p: v.clean_query_string(data, "", p, max_bytes=self.max_length or 512)
        )


class Scopes(StringList):
    """At most 100 scope tokens of at most 256 characters, no whitespace; duplicates are
    dropped, the first occurrence keeps its place."""

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: v.clean_scopes(data, "", p))


class Computed(serializers.Field):
    """An output-only value computed by the :class:`Output`'s static method ``method``
    from the whole object; ``schema`` is the field that documents it."""

    def __init__(self, method: str, schema: serializers.Field, **kwargs: Any) -> None:
        self.method = method
        self.schema_field = schema
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)


class ComputedExtension(OpenApiSerializerFieldExtension):
    target_class = "core.wire.Computed"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        return auto_schema._map_serializer_field(self.target.schema_field, direction)


class ChoiceExtension(OpenApiSerializerFieldExtension):
    target_class = "core.wire.Choice"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "enum": list(self.target.values)}
        if self.target.allow_null:
            schema["nullable"] = True
        return schema


# --- Serializers ----------------------------------------------------------------------


class Input(serializers.Serializer):
    """A request body: a JSON object with only the declared keys (and ``echo``, keys a
    client may send back from a response, which are ignored; ``open``: any other key is).

    Nested in another Input it is an object field: ``null`` is absent unless
    ``null_message`` refuses it, and ``not_object`` words the refusal of a value that is
    not an object (``required_message`` the refusal of a missing one). ``source="*"``
    merges its values into the parent's."""

    echo: ClassVar[frozenset[str]] = frozenset()
    open: ClassVar[bool] = False
    unknown_message: ClassVar[str] = "Unknown field."
    #: The document's component name (``Patched…``/``…Request`` are added), when an API
    #: kept its name from before the class that declares it.
    component: ClassVar[str | None] = None
    #: A body that is not an object is one 400 with this message and no ``fields``, where
    #: an API answered so before it was declared here (else ``body``: "Must be a JSON object.").
    body_message: ClassVar[str | None] = None
    #: Unknown keys are named by their first characters only, where an API did so before.
    unknown_key_length: ClassVar[int | None] = None

    def __init__(
        self,
        *args: Any,
        null_message: str | None = None,
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
        serializer = cls(instance, data=data, partial=partial, context=dict(context or {}))
        if not serializer.is_valid():
            raise invalid_request(field_errors(serializer.errors), code)
        return serializer.validated_data

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None and self.parent is not None:
            if self.null_message is not None:
                raise serializers.ValidationError(self.null_message)
            if self.required and not getattr(self.root, "partial", False):
                self.fail("required")
            raise SkipField()
        result: tuple[bool, Any] = super().validate_empty_values(data)
        return result

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
    """Inputs are closed objects (``additionalProperties: false``) unless they accept keys
    echoed back from a response, which are ignored."""

    target_class = "core.wire.Input"
    match_subclasses = True

    def get_name(self, auto_schema: Any, direction: Any) -> str | None:
        return self.target.component

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        open_ = self.target.echo or self.target.open
        if direction == "response" or not schema.get("properties") or not open_:
            schema["additionalProperties"] = False
        return _own_description(schema, self.target)


class OutputExtension(OpenApiSerializerExtension):
    """Outputs are closed objects: :meth:`Output.render` answers exactly the declared keys."""

    target_class = "core.wire.Output"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return _own_description(schema, self.target)
