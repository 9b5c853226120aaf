"""The field kinds of :mod:`core.wire`: DRF fields whose parsing is the project's."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from django.core.validators import RegexValidator, URLValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from core import jwks
from core import validation as v
from core.text import BASE64_PATTERN, QUERY_PATTERN, TOKEN_PATTERN, URL_PATTERN, text_pattern
from core.time import iso
from core.wire.errors import cleaned

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

    def null_accepted(self) -> bool:
        """Whether ``null`` parses (as absent or as ``null_as``): the document says
        ``nullable`` exactly when it does."""
        if self.null_message is not None:
            return False
        return self.null_as is not empty or not self.required

    def schema_facts(self) -> dict[str, Any]:
        """JSON Schema keywords for rules of this field's parser that DRF's own mapping does
        not show (a pattern, a format), from the same constants the parser uses; ``None``
        drops a keyword DRF's mapping put there. The document's request bodies carry them
        (:class:`~core.wire.InputExtension`), so a schema-driven client sees what is
        refused."""
        return {}

    def render_value(self, value: Any) -> Any:
        return value

    def to_representation(self, value: Any) -> Any:
        return self.render_value(value)


def url_facts(*, blank: bool) -> dict[str, Any]:
    """An https URL (``format: uri`` and :data:`~core.text.URL_PATTERN`), or also ``""``
    when ``blank`` (then no ``format``: ``""`` is no URI)."""
    if blank:
        return {"format": None, "pattern": f"^$|{URL_PATTERN}"}
    return {"format": "uri", "pattern": URL_PATTERN}


NOT_NULL_LIST = "Must be a list (or left out), not null."
NOT_NULL_OBJECT = "Must be an object (or left out), not null."


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

    def schema_facts(self) -> dict[str, Any]:
        if any(isinstance(x, RegexValidator) for x in self.validators):
            return {}  # its own pattern (in the document already) is the stricter rule
        not_blank = self.required or not self.allow_blank
        return {"pattern": text_pattern(multiline=self.multiline, not_blank=not_blank)}

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

    def schema_facts(self) -> dict[str, Any]:
        return url_facts(blank=not self.required)

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
        if "null_as" not in kwargs:  # null is no list: refused, unless a value is given for it
            kwargs.setdefault("null_message", NOT_NULL_LIST)
        child: serializers.Field = (
            Choice(choices) if choices is not None else serializers.CharField(max_length=max_length)
        )
        super().__init__(child=child, max_length=max_items, **kwargs)

    def schema_facts(self) -> dict[str, Any]:
        if self.options["choices"] is not None:
            return {}  # the items are an enum
        no_space = self.options["no_whitespace"]
        return {"items": {"pattern": TOKEN_PATTERN if no_space else text_pattern(not_blank=True)}}

    def to_internal_value(self, data: Any) -> Any:
        items = cleaned(lambda p: v.clean_string_list(data, "", p, **self.options))
        return sorted(set(items)) if self.unique_sorted else items

    def render_value(self, value: Any) -> list[Any]:
        return list(value or [])


class Base64(Text):
    """Standard base64 (RFC 4648 §4) with padding, at most ``max_length`` characters."""

    def schema_facts(self) -> dict[str, Any]:
        return {"pattern": BASE64_PATTERN}

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(
            lambda p: v.clean_base64(
                data, "", p, max_length=self.max_length or 512, required=self.required
            )
        )


class QueryString(Text):
    """A URL-encoded query string (``a=1&b=2``) of at most ``max_length`` bytes."""

    def schema_facts(self) -> dict[str, Any]:
        return {"pattern": QUERY_PATTERN}

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(
            lambda p: v.clean_query_string(data, "", p, max_bytes=self.max_length or 512)
        )


class Scopes(StringList):
    """At most 100 scope tokens of at most 256 characters, no whitespace; duplicates are
    dropped, the first occurrence keeps its place."""

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: v.clean_scopes(data, "", p))


class Jwks(WireField, serializers.DictField):
    """A JWKS of public signing keys (:func:`core.jwks.clean_jwks`): ``{"keys": [JWK]}``,
    stored with only each key's defining members; ``null`` is no keys. A private member is
    refused at its path (``….keys[0].d``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("null_as", jwks.no_keys)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: jwks.clean_jwks(data, "", p))

    def render_value(self, value: Any) -> Any:
        return value if isinstance(value, dict) else jwks.no_keys()


class JwksExtension(OpenApiSerializerFieldExtension):
    target_class = "core.wire.Jwks"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        def enum(*values: str) -> dict[str, Any]:
            return {"type": "string", "enum": list(values)}

        text = {"type": "string"}
        members = {"n": text, "e": text, "crv": enum("P-256", "Ed25519"), "x": text, "y": text}
        key = {
            "type": "object",
            "required": ["kty", "kid"],
            "properties": {
                "kty": enum("RSA", "EC", "OKP"),
                "kid": {**text, "maxLength": jwks.MAX_KID_CHARS},
                "alg": enum(*jwks.RSA_ALGORITHMS, "ES256", "EdDSA"),
                "use": enum("sig"),
                **members,
            },
            "description": "A public JWK: RSA (2048-4096 bits), EC P-256 or Ed25519. "
            "Private members (d, p, q, dp, dq, qi, k) are refused.",
            "additionalProperties": False,  # any other member is refused (core.jwks)
        }
        schema: dict[str, Any] = {
            "type": "object",
            "required": ["keys"],
            "properties": {"keys": {"type": "array", "maxItems": jwks.MAX_KEYS, "items": key}},
            "additionalProperties": False,
        }
        if self.target.help_text:
            schema["description"] = str(self.target.help_text)
        if direction == "request":
            schema["nullable"] = True
        return schema


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
