"""The credential bodies (POST, PUT, PATCH): one :class:`CredentialWrite` per type, the
staged parse of :func:`credential_body` and the ``oneOf`` document of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import PolymorphicProxySerializer

from core import validation as v
from core.errors import FieldError, PatchbayError, not_found
from core.text import parse_uuid
from core.wire import (
    Choice,
    ChoiceExtension,
    Input,
    Text,
    Timestamp,
    WireField,
)
from credentials.inputs.data import DATA_WRAPPERS, TypedData, camel
from credentials.inputs.kinds import KeyList
from credentials.models import Credential
from credentials.types import (
    CREDENTIAL_TYPES,
    EXCHANGED_TYPES,
    TYPE_ALIASES,
    CredentialTypeSpec,
    resolve_type,
)

NAME_MAX = 200


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


# --- The body ------------------------------------------------------------------------


class CredentialWrite(Input):
    """What every credential body shares; the per-type classes below add ``type`` and
    ``data``. Read-only keys (a GET answer sent back) are accepted and ignored."""

    echo = frozenset({"id", "organisationId", "errors", "createdAt", "updatedAt"})

    # Optional, but never empty when given (a blank name would show as nothing in lists).
    name = Text(max_length=NAME_MAX, required=False, allow_blank=False)
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
    target_class = "credentials.inputs.body.TypeField"


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


CREDENTIAL_INPUTS: dict[str, type[CredentialWrite]] = {
    spec.type: _variant(spec, DATA_WRAPPERS[spec.type]) for spec in CREDENTIAL_TYPES.values()
}


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


def credential_request(*, create: bool = False) -> PolymorphicProxySerializer:
    """The ``CredentialRequest`` component: ``oneOf`` the per-type bodies, by ``type``; a
    create (``CredentialCreateRequest``) also takes the ``oauth2-code`` input."""
    from credentials.inputs.exchange import CredentialOAuth2Code

    serializers = dict[str, Any](CREDENTIAL_INPUTS)
    if create:
        serializers["oauth2-code"] = CredentialOAuth2Code
    return PolymorphicProxySerializer(
        component_name="CredentialCreate" if create else "Credential",
        serializers=serializers,
        resource_type_field_name="type",
    )
