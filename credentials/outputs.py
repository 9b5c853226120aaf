"""What the credentials API answers (SPEC §4): :class:`Credential` renders every
credential (the connections and embed answers embed it too); the per-type classes,
generated from the type registry, are what the document shows as ``oneOf`` by ``type``.
Secret fields are left out of ``data``, never masked.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from core.openapi import paginated
from core.wire import Choice, Computed, Output, Text, Timestamp, Uuid
from credentials import models
from credentials.inputs import CREDENTIAL_INPUTS, DATA_WRAPPERS, camel
from credentials.types import CREDENTIAL_TYPES, data_key_for

_REDACT_TYPED = "The type's own secret fields, left out of `data`; ignored on input."
_REDACT_FREE = "The data keys that are secret (write-only); set on input."


class Credential(Output):
    """``redactFields`` lists a typed credential's own secret fields (what is left out of
    ``data``); for ``default`` it is the stored list."""

    id = Uuid(source="pk", read_only=True)
    organisationId = Uuid(source="organisation_id", read_only=True)
    name = Text(max_length=200)
    type = Text()
    # The metaclass pops declared fields, so `Serializer.data`/`.errors` are not shadowed.
    data = Computed("data_of", serializers.DictField())  # type: ignore[assignment]
    errors = serializers.ListField(  # type: ignore[assignment]
        child=serializers.CharField(),
        read_only=True,
        allow_null=True,
        help_text="null: never validated; []: valid; else what is wrong.",
    )
    expiresAt = Timestamp(
        source="expires_at",
        allow_null=True,
        help_text="When given, the credential is deleted automatically at that time.",
    )
    redactFields = Computed(
        "redact_fields_of", serializers.ListField(child=serializers.CharField())
    )
    createdAt = Timestamp(source="created_at", read_only=True)
    updatedAt = Timestamp(source="updated_at", read_only=True)

    @staticmethod
    def data_of(credential: models.Credential) -> dict[str, Any]:
        # The plaintext copy of the non-secret fields: answering decrypts nothing.
        return {data_key_for(credential.type): credential.shown_data()}

    @staticmethod
    def redact_fields_of(credential: models.Credential) -> list[str]:
        spec = CREDENTIAL_TYPES.get(credential.type)
        if spec is None or spec.free_form:
            return list(credential.redact_fields or [])
        return list(spec.secret_fields)


def _variant(type_name: str) -> type[Credential]:
    spec = CREDENTIAL_TYPES[type_name]
    wrapper = DATA_WRAPPERS[type_name]
    redact = serializers.ListField(
        child=serializers.CharField(), help_text=_REDACT_FREE if spec.free_form else _REDACT_TYPED
    )
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": CREDENTIAL_INPUTS[type_name].__doc__,  # the request's own description
        "type": Choice((spec.type,)),
        # read_only as the document had it (a response's fields are all read, anyway)
        "data": Computed("data_of", wrapper(), read_only=False),
        "redactFields": Computed("redact_fields_of", redact, read_only=not spec.free_form),
    }
    return type(f"Credential{camel(spec.data_key)}", (Credential,), attrs)


CREDENTIAL_VARIANTS: dict[str, type[Credential]] = {
    name: _variant(name) for name in CREDENTIAL_TYPES
}


def credential_schema() -> PolymorphicProxySerializer:
    """The ``Credential`` component: ``oneOf`` the per-type answers, by ``type``."""
    return PolymorphicProxySerializer(
        component_name="Credential",
        serializers=dict[str, Any](CREDENTIAL_VARIANTS),
        resource_type_field_name="type",
    )


CredentialPage = paginated("CredentialPage", credential_schema())
