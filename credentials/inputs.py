"""What the credentials API accepts (SPEC §4), declared once and generated from the type
registry (:data:`credentials.types.CREDENTIAL_TYPES`): per type, the inner ``data``
object (``BasicAuthCredentialData``), its ``{"basicAuth": {...}}`` wrapper and the body
(``CredentialBasicAuth``). These classes validate and are what the document shows.

Parsing is in stages, as the API has always answered: the body's shape and keys, then an
``organisationId`` of another organisation (404, SPEC §3), then the ``type`` (its own
codes: ``use_oauth_flow``), then every other field together. The inner data is parsed to
a :class:`CredentialData` (what was given); how it combines with what is stored (secrets
kept, ``null`` clears, required fields) is :meth:`CredentialData.merged`, which the update
service runs on the row it has locked. Messages never contain a submitted value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from core import validation as v
from core.errors import FieldError, PatchbayError, not_found
from core.text import parse_uuid
from core.wire import (
    Base64,
    Bool,
    Choice,
    ChoiceExtension,
    Input,
    QueryString,
    Scopes,
    Text,
    Timestamp,
    Url,
    WireField,
    cleaned,
    field_errors,
    invalid_request,
)
from credentials.models import Credential
from credentials.types import (
    CREDENTIAL_TYPES,
    DEFAULT_MAX_KEY_LENGTH,
    DEFAULT_MAX_KEYS,
    DEFAULT_MAX_VALUE_LENGTH,
    EXCHANGED_TYPES,
    TYPE_ALIASES,
    CredentialTypeSpec,
    FieldSpec,
    Kind,
    resolve_type,
)

NAME_MAX = 200
_KEY_RE = re.compile(rf"^[^\x00-\x1f\x7f]{{1,{DEFAULT_MAX_KEY_LENGTH}}}$")
_KEYS_MESSAGE = "Keys must be 1-200 characters without control characters."
_SECRET_HELP = "Secret: write-only, never in a response."


def credential_type_resolve(type_name: object, *, path: str = "type") -> str:
    """The canonical type for an API ``type`` (seed-003 aliases accepted).

    ``oauth2-code`` and ``oauth1`` are input-only types that must be exchanged
    with the provider; the credentials API refuses them with ``use_oauth_flow``.
    """
    if not isinstance(type_name, str) or not type_name:
        raise PatchbayError(
            "invalid_request", "type is required.", fields=[FieldError(path, "Required.")]
        )
    if type_name in EXCHANGED_TYPES:
        raise PatchbayError(
            "use_oauth_flow", EXCHANGED_TYPES[type_name], fields=[FieldError(path, "Exchanged.")]
        )
    resolved = resolve_type(type_name)
    if resolved is None:
        allowed = ", ".join(CREDENTIAL_TYPES)
        raise PatchbayError(
            "invalid_request",
            f"type must be one of {allowed}.",
            fields=[FieldError(path, f"Must be one of {allowed}.")],
        )
    return resolved


# --- Field kinds of the type table ------------------------------------------------------


class StoredTimestamp(Timestamp):
    """An ISO 8601 date-time with a timezone, kept as the string the API shows
    (``…Z``); internal callers (the OAuth flow) may pass an aware ``datetime``."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, datetime) and data.tzinfo is not None:
            data = data.isoformat()
        parsed = super().to_internal_value(data)
        return None if parsed is None else parsed.isoformat().replace("+00:00", "Z")


class StringMap(WireField, serializers.DictField):
    """An object of at most 50 short keys to strings of at most ``max_length``."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        self.item_length = max_length
        super().__init__(child=serializers.CharField(allow_blank=True), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: _string_map(data, p, max_length=self.item_length))


def _string_map(value: Any, problems: v.Problems, *, max_length: int) -> dict[str, str] | None:
    if not isinstance(value, dict) or len(value) > 50:
        problems.add("", "Must be an object of at most 50 string values.")
        return None
    return _key_map(
        value, problems, lambda item, key: v.clean_text(item, key, problems, max_length=max_length)
    )


def _key_map(
    value: dict[Any, Any], problems: v.Problems, clean: Callable[[Any, str], Any]
) -> dict[str, Any]:
    """Each key 1-200 characters without control characters, each value ``clean``-ed."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _KEY_RE.match(key):
            problems.add("", _KEYS_MESSAGE)
            continue
        text = clean(item, key)
        if text is not None:
            out[key] = text
    return out


class Base64Map(WireField, serializers.DictField):
    """``default`` data: keys to base64 values; a key given ``null`` is removed (its
    value is parsed as :data:`REMOVE`)."""

    def __init__(self, **kwargs: Any) -> None:
        child = serializers.CharField(max_length=DEFAULT_MAX_VALUE_LENGTH)
        super().__init__(child=child, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: _base64_map(data, p))


REMOVE: Any = object()


def _base64_map(value: Any, problems: v.Problems) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add("", "Must be an object of keys to base64 values.")
        return {}
    return _key_map(
        value,
        problems,
        lambda item, key: (
            REMOVE
            if item is None
            else v.clean_base64(item, key, problems, max_length=DEFAULT_MAX_VALUE_LENGTH)
        ),
    )


class KeyList(WireField, serializers.ListField):
    """``redactFields``: at most 100 keys of ``data``, duplicates dropped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: _key_list(data, p))


def _key_list(value: Any, problems: v.Problems) -> list[str] | None:
    if not isinstance(value, list) or len(value) > DEFAULT_MAX_KEYS:
        problems.add("", f"Must be a list of at most {DEFAULT_MAX_KEYS} keys.")
        return None
    out: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not _KEY_RE.match(item):
            problems.add(f"[{index}]", "Must be a key of data.")
            continue
        out.append(item)
    return list(dict.fromkeys(out))


# How each kind of the type table is parsed: (the field, from the common arguments and
# those of a string, with its maximum length) and what the document adds about it.
_Make = Callable[[dict[str, Any], dict[str, Any]], serializers.Field]
_KINDS: dict[Kind, tuple[_Make, str]] = {
    Kind.TEXT: (lambda common, text: Text(**text), ""),
    Kind.ID: (lambda common, text: Text(**text), ""),
    Kind.PEM: (lambda common, text: Text(**text, multiline=True), "PEM."),
    Kind.BASE64: (lambda common, text: Base64(**text), "Standard base64."),
    Kind.QUERY: (
        lambda common, text: QueryString(**text),
        "A URL-encoded query string (`a=1&b=2`).",
    ),
    Kind.URL: (
        lambda common, text: Url(**common),
        "An absolute https URL.",
    ),
    Kind.BOOL: (lambda common, text: Bool(**common), ""),
    Kind.SCOPES: (lambda common, text: Scopes(**common), ""),
    Kind.DATETIME: (lambda common, text: StoredTimestamp(**common, allow_null=True), ""),
    Kind.STRING_MAP: (lambda common, text: StringMap(**text), ""),
}


def _field(spec: FieldSpec) -> serializers.Field:
    """The wire field of one entry of the type table."""
    make, about = _KINDS[spec.kind]
    common: dict[str, Any] = {"required": spec.required}
    if spec.secret:
        common["write_only"] = True
    # A constructor argument: DRF copies a field by calling its class again.
    help_text = " ".join(filter(None, [_SECRET_HELP if spec.secret else "", about]))
    if help_text:
        common["help_text"] = help_text
    return make(common, {**common, "max_length": spec.max_length})


# --- The data object -----------------------------------------------------------------


@dataclass(frozen=True)
class CredentialData:
    """The inner ``data`` object as given: each key's parsed value (``REMOVE`` for a
    ``default`` key given ``null``) and every key that was given at all."""

    type: str
    values: dict[str, Any]
    given: frozenset[str] = field(default_factory=frozenset)

    @property
    def path(self) -> str:
        return f"data.{CREDENTIAL_TYPES[self.type].data_key}"

    def merged(
        self,
        *,
        stored: Mapping[str, Any] | None = None,
        stored_redact: list[str] | None = None,
        partial: bool = False,
    ) -> dict[str, Any]:
        """What to store. With ``stored`` (an update), omitted secret fields keep their
        stored value, and with ``partial`` so do the other omitted fields; of a
        ``default`` credential, the omitted redacted keys (the client cannot see them).
        A required field left without a value is a 400."""
        spec = CREDENTIAL_TYPES[self.type]
        problems = v.Problems()
        out: dict[str, Any] = {}
        if spec.free_form:
            if stored is not None:
                kept = stored.keys() if partial else set(stored_redact or []) & stored.keys()
                out.update({k: stored[k] for k in kept})
            for key, value in self.values.items():
                if value is REMOVE:
                    out.pop(key, None)
                else:
                    out[key] = value
            if len(out) > DEFAULT_MAX_KEYS:
                problems.add(self.path, f"Must have at most {DEFAULT_MAX_KEYS} keys.")
        else:
            declared = DATA_INPUTS[self.type]._declared_fields
            missing = _missing(declared, self.given, stored, partial)
            for name, f in declared.items():
                if name in self.values:
                    out[name] = self.values[name]
                elif name in missing:
                    problems.add(v.join(self.path, name), "This field is required.")
                elif (
                    stored is not None
                    and (f.write_only or partial)
                    and name not in self.given
                    and name in stored
                ):
                    out[name] = stored[name]  # kept
        problems.raise_if_any()
        return out


def _missing(
    declared: Mapping[str, serializers.Field],
    given: frozenset[str],
    stored: Mapping[str, Any] | None,
    partial: bool,
) -> frozenset[str]:
    """The required fields an update leaves without a value: not given, and not kept
    from ``stored`` (secrets, the write-only fields, are kept, and with ``partial`` every
    field). A field given ``null`` is the parser's to refuse."""
    return frozenset(
        name
        for name, f in declared.items()
        if f.required
        and name not in given
        and not (stored is not None and (f.write_only or partial) and name in stored)
    )


class DataInput(Input):
    """The inner data object of one type; made per type by :func:`_data_input`."""

    spec: ClassVar[CredentialTypeSpec]

    @classmethod
    def values(
        cls,
        data: Any,
        *,
        update: bool,
        stored: Mapping[str, Any] | None = None,
        partial: bool = False,
    ) -> CredentialData:
        """``data`` parsed. In an update absent fields are left to
        :meth:`CredentialData.merged` (``null`` still clears, or is refused when
        required), except that with ``stored`` (the row as read) the required fields it
        would leave without a value are named here too, with the others, in order."""
        data = {} if data is None else data
        serializer = cls(data=data, partial=update)
        valid = serializer.is_valid()
        given = frozenset(data) if isinstance(data, Mapping) else frozenset()
        missing: frozenset[str] = frozenset()
        if update and stored is not None and isinstance(data, Mapping):
            missing = _missing(cls._declared_fields, given, stored, partial)
        if not valid or missing:
            errors = dict(serializer.errors) if not valid else {}
            detail = {k: e for k, e in errors.items() if k not in cls._declared_fields}
            for name in cls._declared_fields:
                if name in errors:
                    detail[name] = errors[name]
                elif name in missing:
                    detail[name] = ["This field is required."]
            raise serializers.ValidationError(detail)  # paths relative to the data object
        return CredentialData(cls.spec.type, dict(serializer.validated_data), given)


class DefaultDataInput(DataInput):
    """``default``: an object of keys to base64 values (null removes a key)."""

    @classmethod
    def values(cls, data: Any, *, update: bool, **merge: Any) -> CredentialData:
        """(The key count, which depends on what is kept, is :meth:`CredentialData.merged`'s.)"""
        parsed = Base64Map().to_internal_value(data)
        return CredentialData(cls.spec.type, parsed, frozenset(parsed))


def camel(key: str) -> str:
    return key[0].upper() + key[1:]


def _data_input(spec: CredentialTypeSpec) -> type[DataInput]:
    name = f"{camel(spec.data_key)}CredentialData"
    attrs: dict[str, Any] = {"__module__": __name__, "__doc__": None, "spec": spec}
    attrs.update({f.name: _field(f) for f in spec.fields})
    return type(name, (DataInput,), attrs)


def _wrapper(spec: CredentialTypeSpec, inner: type[DataInput]) -> type[Input]:
    """``{<data key>: {...}}``: what ``data`` holds (documents :class:`TypedData`)."""
    if spec.free_form:
        field_: serializers.Field = Base64Map(
            help_text="Keys to standard base64 values. The keys named in `redactFields` are "
            "secret: write-only, left out of every response.",
        )
    else:
        field_ = inner(required=spec.type != "none")
    attrs = {"__module__": __name__, "__doc__": None, spec.data_key: field_}
    return type(f"Credential{camel(spec.data_key)}Data", (Input,), attrs)


class TypedData(WireField):
    """``data``: exactly one key, named after the type, holding the inner object
    (clients using a seed-003 type name may send the unwrapped inner object)."""

    def __init__(self, spec: CredentialTypeSpec, schema: serializers.Serializer, **kw: Any):
        self.spec = spec
        self.schema = schema
        super().__init__(**kw)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is empty and getattr(self.root, "partial", False):
            raise SkipField()  # PATCH without data: nothing changes
        if data is empty or data is None:  # as {}: required fields are reported as missing
            return True, self.inner(None)
        return False, data

    def inner(self, data: Any) -> CredentialData:
        try:
            return DATA_INPUTS[self.spec.type].values(
                data,
                update="stored" in self.context,
                stored=self.context.get("stored"),
                partial=getattr(self.root, "partial", False),
            )
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({self.spec.data_key: exc.detail}) from None

    def to_internal_value(self, data: Any) -> CredentialData:
        key = self.spec.data_key
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be an object.")
        if list(data) == [key] and isinstance(data[key], dict | None):
            return self.inner(data[key])
        if self.context.get("given_type") in TYPE_ALIASES or (not data and key == "none"):
            return self.inner(data)
        raise serializers.ValidationError(
            f"Must have exactly one key, '{key}', holding the {self.spec.type} data."
        )


class TypedDataExtension(OpenApiSerializerFieldExtension):
    target_class = "credentials.inputs.TypedData"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        return auto_schema._map_serializer_field(self.target.schema, direction)


# --- The body ------------------------------------------------------------------------


class CredentialWrite(Input):
    """What every credential body shares; the per-type classes below add ``type`` and
    ``data``. Read-only keys (a GET answer sent back) are accepted and ignored."""

    echo = frozenset({"id", "organisationId", "errors", "createdAt", "updatedAt"})

    name = Text(max_length=NAME_MAX, required=False, null_as="")
    # Declared per type (below); here for their place in the document.
    type = Choice(CREDENTIAL_TYPES, required=True)
    data = WireField()  # type: ignore[assignment]
    expiresAt = Timestamp(
        required=False,
        null_as=None,
        allow_null=True,
        help_text="When given, the credential is deleted automatically at that time.",
    )

    def check(self, data: Mapping[str, Any], values: dict[str, Any]) -> Mapping[str, Any]:
        expires_at = values.get("expiresAt")
        if expires_at is not None and expires_at <= timezone.now():
            return {"expiresAt": ["Must be in the future."]}
        return {}


ALLOWED_KEYS = (
    frozenset({"name", "type", "data", "expiresAt", "redactFields"}) | CredentialWrite.echo
)


class TypeField(Choice):
    """``type``, already resolved (aliases, ``use_oauth_flow``) by :func:`credential_body`."""

    def to_internal_value(self, data: Any) -> Any:
        return data


class TypeFieldExtension(ChoiceExtension):
    target_class = "credentials.inputs.TypeField"


def _variant(spec: CredentialTypeSpec, wrapper: type[Input]) -> type[CredentialWrite]:
    aliases = [alias for alias, name in TYPE_ALIASES.items() if name == spec.type]
    doc = f"A credential of type `{spec.type}`: its data is under `data.{spec.data_key}`."
    if aliases:
        doc += f" The seed-003 name `{aliases[0]}` is accepted on input."
    if spec.secret_fields:
        doc += " Secret fields: " + ", ".join(f"`{f}`" for f in spec.secret_fields) + "."
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": doc,
        "type": TypeField((spec.type,), required=True),
        "data": TypedData(spec, wrapper(), required=spec.type != "none"),
    }
    if spec.free_form:
        attrs["redactFields"] = KeyList(
            required=False,
            null_as=[],
            help_text="The data keys that are secret (write-only); set on input.",
        )
    else:  # the type's own secret fields: accepted (a GET answer sent back) and ignored
        attrs["echo"] = CredentialWrite.echo | {"redactFields"}
    return type(f"Credential{camel(spec.data_key)}", (CredentialWrite,), attrs)


DATA_INPUTS: dict[str, type[DataInput]] = {}
DATA_WRAPPERS: dict[str, type[Input]] = {}
CREDENTIAL_INPUTS: dict[str, type[CredentialWrite]] = {}
for _spec in CREDENTIAL_TYPES.values():
    if _spec.free_form:
        DATA_INPUTS[_spec.type] = type(
            "DefaultCredentialData", (DefaultDataInput,), {"__module__": __name__, "spec": _spec}
        )
    else:
        DATA_INPUTS[_spec.type] = _data_input(_spec)
    DATA_WRAPPERS[_spec.type] = _wrapper(_spec, DATA_INPUTS[_spec.type])
    CREDENTIAL_INPUTS[_spec.type] = _variant(_spec, DATA_WRAPPERS[_spec.type])


def credential_data_parse(
    *,
    type: str,
    data: Any,
    update: bool = False,
    stored: Mapping[str, Any] | None = None,
    partial: bool = False,
) -> CredentialData:
    """The inner data object of ``type`` (a canonical type) as given by a caller other
    than the API (embed forms, the admin, the OAuth flow); 400 naming every bad field."""
    if isinstance(data, CredentialData):
        return data
    try:
        return DATA_INPUTS[type].values(data, update=update, stored=stored, partial=partial)
    except serializers.ValidationError as exc:
        path = f"data.{CREDENTIAL_TYPES[type].data_key}"
        raise invalid_request(field_errors(exc.detail, path)) from None


def credential_body(
    data: Any,
    *,
    organisation_id: Any,
    stored: Credential | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """A POST (``stored`` None), PUT or PATCH body of ``stored``: ``name``, ``type``
    (canonical), ``data`` (a :class:`CredentialData` of the credential's type),
    ``expiresAt`` and ``redactFields`` as given."""
    problems = v.Problems()
    v.check_object(data, "", problems, allowed=ALLOWED_KEYS)
    problems.raise_if_any()
    if "organisationId" in data and parse_uuid(data["organisationId"]) != organisation_id:
        raise not_found("organisation")
    given_type = data.get("type")
    body = dict(data)
    typed = stored is None or "type" in data
    # Not given in an update: the credential's own (the body class requires one).
    body["type"] = credential_type_resolve(given_type) if typed or stored is None else stored.type
    if stored is not None and body["type"] != stored.type:
        raise PatchbayError(
            "type_immutable",
            "A credential's type cannot change; create a new credential instead.",
            fields=[FieldError("type", "Cannot change.")],
        )
    if body.get("data") is not None and not isinstance(body["data"], dict):
        raise PatchbayError(
            "invalid_request",
            "data must be a JSON object.",
            fields=[FieldError("data", "Must be an object.")],
        )
    context: dict[str, Any] = {"given_type": given_type}
    if stored is not None:
        context["stored"] = stored.data if isinstance(stored.data, dict) else {}
    values = dict(CREDENTIAL_INPUTS[body["type"]].parse(body, partial=partial, context=context))
    if not typed:
        values.pop("type", None)
    return values


def credential_request() -> PolymorphicProxySerializer:
    """The ``CredentialRequest`` component: ``oneOf`` the per-type bodies, by ``type``."""
    return PolymorphicProxySerializer(
        component_name="Credential",
        serializers=dict[str, Any](CREDENTIAL_INPUTS),
        resource_type_field_name="type",
    )
