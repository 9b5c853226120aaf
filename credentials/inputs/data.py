"""The inner ``data`` object of each credential type, generated from the type table
(:data:`credentials.types.CREDENTIAL_TYPES`): its field kinds, the per-type :class:`DataInput`
and ``{"basicAuth": {...}}`` wrapper, and :class:`CredentialData` (what a caller gave, and
how it merges with what is stored)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from core import validation as v
from core.wire import (
    Input,
    WireField,
    field_errors,
    invalid_request,
)
from credentials.inputs.kinds import REMOVE, Base64Map, key_matches, pem_certificates, spec_field
from credentials.types import (
    CREDENTIAL_TYPES,
    DEFAULT_MAX_KEYS,
    TYPE_ALIASES,
    CredentialTypeSpec,
)

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
        context = {"stored": stored} if stored is not None else None
        with cls.parsing(data, partial=update, context=context) as serializer:
            valid = serializer.is_valid()
            errors = dict(serializer.errors) if not valid else {}
            values = dict(serializer.validated_data) if valid else {}
        given = frozenset(data) if isinstance(data, Mapping) else frozenset()
        missing: frozenset[str] = frozenset()
        if update and stored is not None and isinstance(data, Mapping):
            missing = _missing(cls._declared_fields, given, stored, partial)
        if not valid or missing:
            detail = {k: e for k, e in errors.items() if k not in cls._declared_fields}
            for name in cls._declared_fields:
                if name in errors:
                    detail[name] = errors[name]
                elif name in missing:
                    detail[name] = ["This field is required."]
            raise serializers.ValidationError(detail)  # paths relative to the data object
        return CredentialData(cls.spec.type, values, given)


class DefaultDataInput(DataInput):
    """``default``: an object of keys to base64 values (null removes a key)."""

    @classmethod
    def values(cls, data: Any, *, update: bool, **merge: Any) -> CredentialData:
        """(The key count, which depends on what is kept, is :meth:`CredentialData.merged`'s.)"""
        parsed = Base64Map().to_internal_value(data)
        return CredentialData(cls.spec.type, parsed, frozenset(parsed))


def camel(key: str) -> str:
    return key[0].upper() + key[1:]


class CertificateDataInput(DataInput):
    """``certificate``: the key must be the (first) certificate's, as TLS will insist; a
    change of either one is checked against the other as stored."""

    def check(self, data: Mapping[str, Any], values: dict[str, Any]) -> Mapping[str, Any]:
        stored = self.context.get("stored") or {}
        certificate = values.get("certificate", stored.get("certificate"))
        key = values.get("key", stored.get("key"))
        changed = "certificate" in values or "key" in values
        failed = any(name in data and name not in values for name in ("certificate", "key"))
        if failed or not (changed and isinstance(certificate, str) and isinstance(key, str)):
            return {}
        if (
            certificate
            and key
            and pem_certificates(certificate)
            and not key_matches(certificate, key)
        ):
            return {"key": ["Must be the private key of the first certificate."]}
        return {}


_DATA_BASES: dict[str, type[DataInput]] = {"certificate": CertificateDataInput}


def _data_input(spec: CredentialTypeSpec) -> type[DataInput]:
    name = f"{camel(spec.data_key)}CredentialData"
    attrs: dict[str, Any] = {"__module__": __name__, "__doc__": None, "spec": spec}
    attrs.update({f.name: spec_field(f) for f in spec.fields})
    return type(name, (_DATA_BASES.get(spec.type, DataInput),), attrs)


def _wrapper(spec: CredentialTypeSpec, inner: type[DataInput]) -> type[Input]:
    """``{<data key>: {...}}``: what ``data`` holds (documents :class:`TypedData`)."""
    if spec.free_form:
        field_: serializers.Field = Base64Map(
            help_text="Keys to standard base64 values. The keys named in `redactFields` are "
            "secret: write-only, left out of every response.",
        )
    else:
        field_ = inner(required=spec.type != "none")
    # Whole even in a PATCH: ``data`` given holds its key (TypedData's rule).
    attrs = {"__module__": __name__, "__doc__": None, "whole": True, spec.data_key: field_}
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
    target_class = "credentials.inputs.data.TypedData"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        return auto_schema._map_serializer_field(self.target.schema, direction)


DATA_INPUTS: dict[str, type[DataInput]] = {}
DATA_WRAPPERS: dict[str, type[Input]] = {}
for _spec in CREDENTIAL_TYPES.values():
    if _spec.free_form:
        DATA_INPUTS[_spec.type] = type(
            "DefaultCredentialData", (DefaultDataInput,), {"__module__": __name__, "spec": _spec}
        )
    else:
        DATA_INPUTS[_spec.type] = _data_input(_spec)
    DATA_WRAPPERS[_spec.type] = _wrapper(_spec, DATA_INPUTS[_spec.type])


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
