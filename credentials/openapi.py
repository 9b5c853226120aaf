"""OpenAPI components of credentials (SPEC §4), built from the type registry
(:data:`credentials.types.CREDENTIAL_TYPES`) so the docs list exactly the fields the
API validates. For the docs only.

``Credential`` is a ``oneOf`` by ``type``; ``data`` has exactly one key, named after the
type. Secret fields are ``writeOnly``: they appear in the ``…Request`` components and in
no response component.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from core.openapi import DocSerializer, EnumField, paginated
from credentials.types import (
    CREDENTIAL_TYPES,
    DEFAULT_MAX_VALUE_LENGTH,
    TYPE_ALIASES,
    CredentialTypeSpec,
    FieldSpec,
    Kind,
)


def _camel(key: str) -> str:
    return key[0].upper() + key[1:]


def _field(spec: FieldSpec) -> serializers.Field:
    common: dict[str, Any] = {"required": spec.required}
    if spec.secret:
        common.update(write_only=True, help_text="Secret: write-only, never in a response.")
    text = {**common, "max_length": spec.max_length, "allow_blank": not spec.required}
    if spec.kind is Kind.BOOL:
        return serializers.BooleanField(**common)
    if spec.kind is Kind.SCOPES:
        return serializers.ListField(child=serializers.CharField(max_length=256), **common)
    if spec.kind is Kind.DATETIME:
        return serializers.DateTimeField(**common, allow_null=True)
    if spec.kind is Kind.STRING_MAP:
        return serializers.DictField(child=serializers.CharField(allow_blank=True), **common)
    if spec.kind is Kind.BASE64:
        text["help_text"] = (common.get("help_text", "") + " Standard base64.").strip()
    elif spec.kind is Kind.PEM:
        text["help_text"] = (common.get("help_text", "") + " PEM.").strip()
    elif spec.kind is Kind.QUERY:
        text["help_text"] = "A URL-encoded query string (`a=1&b=2`)."
    elif spec.kind is Kind.URL:
        text["help_text"] = "An absolute https URL."
    return serializers.CharField(**text)


def _data(spec: CredentialTypeSpec) -> type[serializers.Serializer]:
    """``{<data key>: {...fields}}``."""
    camel = _camel(spec.data_key)
    if spec.free_form:
        inner: serializers.Field = serializers.DictField(
            child=serializers.CharField(max_length=DEFAULT_MAX_VALUE_LENGTH),
            help_text="Keys to standard base64 values. The keys named in `redactFields` are "
            "secret: write-only, left out of every response.",
        )
    else:
        fields: dict[str, Any] = {"__module__": __name__}
        fields.update({f.name: _field(f) for f in spec.fields})
        inner_cls = type(f"{camel}CredentialDataSerializer", (DocSerializer,), fields)
        inner = inner_cls(required=spec.type != "none")
    return type(
        f"Credential{camel}DataSerializer",
        (DocSerializer,),
        {"__module__": __name__, spec.data_key: inner},
    )


def _variant(spec: CredentialTypeSpec) -> type[serializers.Serializer]:
    aliases = [alias for alias, name in TYPE_ALIASES.items() if name == spec.type]
    doc = f"A credential of type `{spec.type}`: its data is under `data.{spec.data_key}`."
    if aliases:
        doc += f" The seed-003 name `{aliases[0]}` is accepted on input."
    if spec.secret_fields:
        doc += " Secret fields: " + ", ".join(f"`{f}`" for f in spec.secret_fields) + "."
    redact_help = (
        "The data keys that are secret (write-only); set on input."
        if spec.free_form
        else "The type's own secret fields, left out of `data`; ignored on input."
    )
    fields: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": doc,
        "id": serializers.UUIDField(read_only=True),
        "organisationId": serializers.UUIDField(read_only=True),
        "name": serializers.CharField(required=False, allow_blank=True, max_length=200),
        "type": EnumField((spec.type,)),
        "data": _data(spec)(required=spec.type != "none"),
        "errors": serializers.ListField(
            child=serializers.CharField(),
            read_only=True,
            allow_null=True,
            help_text="null: never validated; []: valid; else what is wrong.",
        ),
        "expiresAt": serializers.DateTimeField(
            required=False,
            allow_null=True,
            help_text="When given, the credential is deleted automatically at that time.",
        ),
        "redactFields": serializers.ListField(
            child=serializers.CharField(),
            read_only=not spec.free_form,
            required=False,
            help_text=redact_help,
        ),
        "createdAt": serializers.DateTimeField(read_only=True),
        "updatedAt": serializers.DateTimeField(read_only=True),
    }
    return type(f"Credential{_camel(spec.data_key)}", (DocSerializer,), fields)


CREDENTIAL_VARIANTS: dict[str, Any] = {
    name: _variant(spec) for name, spec in CREDENTIAL_TYPES.items()
}


def credential(**kwargs: Any) -> PolymorphicProxySerializer:
    """The ``Credential`` component: ``oneOf`` its variants, discriminated by ``type``."""
    return PolymorphicProxySerializer(
        component_name="Credential",
        serializers=CREDENTIAL_VARIANTS,
        resource_type_field_name="type",
        **kwargs,
    )


CredentialPageSerializer = paginated("CredentialPage", credential())
