"""What the connections API and the OAuth 2.0 endpoints accept: one declaration per body,
the source of its validation and of its OpenAPI schema.

Each field's ``source`` is the keyword the service (or the flow's params dataclass) takes,
so a parsed body is passed on as it is: ``connection_create(**ConnectionWrite.parse(...))``,
``InitialiseParams(**InitialiseRequest.parse(...))``.

The two flow bodies (initialise, grant token) keep the words they have always answered
with: the first problem's own message, ``Control characters are not allowed.``, … — see
:class:`FlowText` and :class:`GrantText`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from connections.services import CredentialRef as CredentialLink
from connectors.schemes.base import ProviderUrl
from core.errors import FieldError, PatchbayError, invalid
from core.text import TOKEN_PATTERN, has_control_characters, text_pattern
from core.wire import Bool, Input, ObjectList, Text, WireField, url_facts

# --- Connections --------------------------------------------------------------------


class CredentialRef(Input):
    authSchemeConfigId = Text(max_length=100, required=True, source="auth_scheme_config_id")
    credentialId = Text(required=True, source="credential_id")

    def to_internal_value(self, data: Any) -> CredentialLink:
        return CredentialLink(**super().to_internal_value(data))


class ConnectionWrite(Input):
    """Create or change a connection. `credentials` (replaced as a whole by PATCH) name
    credentials of the organisation and the connector's auth scheme configs they are
    applied through, in order. `systemId` cannot change. The read-only fields of a
    connection (`id`, `createdAt`, `updatedAt`, `status`, `endUser`) are accepted and
    ignored."""

    echo = frozenset({"id", "createdAt", "updatedAt", "status", "endUser"})

    name = Text(max_length=200, required=True, help_text="Unique within the connector.")
    systemId = Text(required=True, source="connector_id", help_text="The connector's id.")
    # The proxy's target (SPEC §9.1): validated exactly as a connector's baseUrl.
    baseUrl = ProviderUrl(source="base_url", required=False, null_as="")
    connectionTemplateId = Text(
        max_length=200, required=False, null_as="", source="connection_template_id"
    )
    # Items past the 100th are not read: more than 20 is refused by the service anyway.
    credentials = ObjectList(CredentialRef(), check_first=100, required=False)


class ConnectionCreate(ConnectionWrite):
    """A new connection; with `verify: true` its credentials are checked first with the
    config's `verification` request (SPEC §9.2) and nothing is stored when they fail."""

    verify = Bool(
        required=False,
        default=False,
        help_text="Check the credentials before storing: 400 `credential_invalid` when refused.",
    )


class VerifyRequest(Input):
    """No fields: send no body, or `{}`."""

    unknown_message = "verify takes no fields."


def force_refresh(values: list[str]) -> bool:
    """``?forceRefresh``: absent, ``true`` or ``false`` (once); anything else is a 400."""
    if not values:
        return False
    if len(values) != 1 or values[0] not in ("true", "false"):
        raise PatchbayError(
            "invalid_request",
            "forceRefresh must be true or false.",
            400,
            [FieldError("forceRefresh", "Must be true or false.")],
        )
    return values[0] == "true"


# --- OAuth 2.0 flow bodies ----------------------------------------------------------


class FlowText(WireField, serializers.CharField):
    """A string of an initialise body: at most ``max_length`` characters, no control
    characters, not blank when required."""

    def __init__(self, *, max_length: int = 4096, url: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("allow_blank", not kwargs.get("required", False))
        self.url = url  # the flow checks it as a provider URL (connections.oauth.params)
        super().__init__(max_length=max_length, trim_whitespace=False, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        # CharField's own would answer "may not be blank" in DRF's words first.
        return serializers.Field.run_validation(self, data)

    def schema_facts(self) -> dict[str, Any]:
        if self.url:
            return url_facts(blank=self.allow_blank)
        return {"pattern": text_pattern()}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.")
        if has_control_characters(data):
            raise serializers.ValidationError("Control characters are not allowed.")
        if not data and not self.allow_blank:
            raise serializers.ValidationError("This field may not be blank.")
        if len(data) > (self.max_length or 0):
            raise serializers.ValidationError(f"At most {self.max_length} characters.")
        return data


class GrantText(FlowText):
    """A string of a grant-token body: not blank, at most ``max_length`` characters without
    control characters, surrounding whitespace dropped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_blank=False, **kwargs)

    def schema_facts(self) -> dict[str, Any]:
        return {"pattern": text_pattern(not_blank=True)}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not data.strip():
            raise serializers.ValidationError("Must be a non-empty string.")
        if len(data) > (self.max_length or 0) or has_control_characters(data):
            raise serializers.ValidationError(
                f"At most {self.max_length} characters, without control characters."
            )
        return data.strip()


class FlowScopes(WireField, serializers.ListField):
    """A list of strings without control characters (the flow checks each scope itself)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(), **kwargs)

    def schema_facts(self) -> dict[str, Any]:
        return {"items": {"pattern": TOKEN_PATTERN}}  # the flow refuses whitespace too

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
            raise serializers.ValidationError("Must be a list of strings.")
        bad = {
            f"[{index}]": ["Control characters are not allowed."]
            for index, scope in enumerate(data)
            if has_control_characters(scope)
        }
        if bad:
            raise serializers.ValidationError(bad)
        return data


class FlowBody(Input):
    """A flow endpoint's body: not an object is ``body`` "The body must be a JSON
    object."; a single problem is answered in its own words (``message`` is the field's)."""

    @classmethod
    def parse(cls, data: Any, *, code: str = "invalid_request", **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            raise invalid("body", "The body must be a JSON object.", code)
        try:
            return super().parse(data, code=code, **kwargs)
        except PatchbayError as exc:
            if len(exc.fields) == 1:
                exc.message = exc.fields[0].message
            raise


_POINTER = "Required: {id, organisationId}."


class CredentialPointer(Input):
    open = True  # other keys of the credential a client copied here are ignored

    id = FlowText(required=True, source="credential_id")
    organisationId = FlowText(required=True, source="credential_organisation_id")


class InitialiseRequest(FlowBody):
    """SPEC §5.1. `credential` is the `oauth2-client` credential; `clientId` must be the
    one stored in it."""

    authorizeUrl = FlowText(required=True, url=True, source="authorize_url")
    clientId = FlowText(required=True, source="client_id")
    credential = CredentialPointer(
        source="*", required_message=_POINTER, null_message=_POINTER, not_object=_POINTER
    )
    additionalParams = FlowText(
        required=False, source="additional_params", help_text="A URL-encoded query string."
    )
    disableOfflineAccess = Bool(
        required=False, default=False, null_as=False, source="disable_offline_access"
    )
    prompt = FlowText(required=False)
    scopes = FlowScopes(required=False)
    redirectUrl = FlowText(required=False, source="redirect_url")
    authSchemeConfigId = FlowText(required=False, source="auth_scheme_config_id")
    connectionId = FlowText(
        required=False, source="connection_id", help_text="Re-authorise this existing connection."
    )


_GRANT_CREDENTIAL = "Must be {id, organisationId?}."


class GrantCredential(Input):
    id = GrantText(
        max_length=64, required=True, required_message="Required.", source="credential_id"
    )
    organisationId = GrantText(max_length=64, required=False, source="credential_organisation_id")

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping) or set(data) - set(self.fields):
            raise serializers.ValidationError([_GRANT_CREDENTIAL])
        return super().to_internal_value(data)


class GrantTokenRequest(FlowBody):
    """For oauth2 configs whose grant is `clientCredentials` or `password`. The body may
    be empty."""

    unknown_key_length = 64  # as this body always named them

    name = GrantText(max_length=200, required=False)
    authSchemeConfigId = GrantText(
        max_length=100,
        required=False,
        source="auth_scheme_config_id",
        help_text="Required when the connector has several.",
    )
    credential = GrantCredential(
        required=False,
        source="*",
        help_text="The `oauth2-password` credential of a password grant.",
    )

    @classmethod
    def parse(cls, data: Any, **kwargs: Any) -> Any:
        return super().parse({} if data is None or data == "" else data, **kwargs)
