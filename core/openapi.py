"""Shared parts of the OpenAPI document (drf-spectacular): the error shape, ``pageInfo``,
the paginated ``{items, pageInfo}`` wrapper and the error responses of every operation.

Each app's bodies and answers are declared in its ``inputs.py`` and ``outputs.py``
(:mod:`core.wire`), which validate, render and document at once. What is left here is
documentation of shapes :mod:`core.api` builds itself (the error body, the page wrapper);
``tests/test_openapi_shapes.py`` checks real answers against the whole document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from drf_spectacular import openapi
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers

from core.wire import Input
from core.wire.bodies import ECHO_SCHEMA


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with an :class:`Input`'s ``echo`` keys in its request component
    as ``readOnly`` properties: its own split of request components drops every
    ``readOnly`` property, which would leave a closed object that refuses them."""

    def _postprocess_serializer_schema(
        self, schema: dict[str, Any], serializer: Any, direction: Any
    ) -> dict[str, Any]:
        schema = super()._postprocess_serializer_schema(schema, serializer, direction)
        if direction == "request" and isinstance(serializer, Input) and not serializer.open:
            properties = schema.setdefault("properties", {})
            for name in sorted(serializer.echo):
                echoed = serializer.echo_schemas.get(name, ECHO_SCHEMA)
                properties.setdefault(name, dict(echoed))
        return schema


class DocSerializer(serializers.Serializer):
    """Base of the documentation serializers. Responses are closed objects
    (``additionalProperties: false``): the representation functions answer exactly the
    documented keys. Requests are open unless empty (``{}``), since bodies may echo
    read-only fields back (they are ignored)."""


class DocSerializerExtension(OpenApiSerializerExtension):
    target_class = "core.openapi.DocSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "response" or not schema.get("properties"):
            schema["additionalProperties"] = False
        return schema


# --- Errors -------------------------------------------------------------------------


class ErrorFieldSerializer(DocSerializer):
    """One invalid field: its path in the body (``a.b[0].c``) and what is wrong with it."""

    field = serializers.CharField(help_text="Path of the field, e.g. `data.basicAuth.password`.")
    message = serializers.CharField()


class ErrorSerializer(DocSerializer):
    """Every error the API answers with (SPEC §4). Never contains a submitted secret."""

    code = serializers.CharField(help_text="snake_case, e.g. `invalid_request`, `not_found`.")
    message = serializers.CharField(help_text="Human-readable.")
    # The metaclass pops declared fields, so `Serializer.fields` is not shadowed.
    fields = ErrorFieldSerializer(  # type: ignore[assignment]
        many=True, required=False, help_text="Present when particular fields are at fault."
    )


class TokenErrorSerializer(ErrorSerializer):
    """An error of a token request to the provider: 409 ``reauthorisation_required`` (the
    provider refused the grant) or 502 ``token_exchange_failed`` / ``token_refresh_failed``."""

    providerError = serializers.CharField(
        required=False, help_text="The provider's OAuth error code, when it gave one."
    )
    retryAfter = serializers.IntegerField(
        required=False,
        help_text="Seconds to wait before retrying (502 `token_refresh_failed` only; "
        "also in the `Retry-After` header).",
    )


_ERROR_TEXT = {
    400: "Invalid request: `invalid_request`, `invalid_json` or an operation-specific code; "
    "`fields` names what is wrong.",
    401: "No valid credentials: `unauthenticated`.",
    404: "`not_found`: no such object in the caller's organisation (ids of other "
    "organisations and malformed ids too).",
    409: "Conflict with the current state (`conflict`, `…_in_use`, …).",
    413: "`request_too_large`: the body is over the size limit (64 KiB).",
    415: "`unsupported_media_type`: the body must be `application/json`.",
    502: "The provider failed to issue a token.",
}

_EMBED_TEXT = {
    401: "`invalid_session`: the connect session token is missing, malformed, unknown, "
    "expired or revoked; `invalid_token`: a company-signed end-user token is refused (the "
    "message says why).",
    404: "`not_found`: another hub, a connector the hub does not offer or another end user's "
    "object.",
}

READ = (401, 404)
LIST = (400, 401, 404)
WRITE = (400, 401, 404, 413, 415)
DELETE = (401, 404, 409)


def errors(
    *statuses: int,
    embed: bool = False,
    token: Iterable[int] = (),
    text: dict[int, str] | None = None,
) -> dict[int, OpenApiResponse]:
    """Error responses in the error shape for ``statuses``; those in ``token`` use
    :class:`TokenErrorSerializer`; ``text`` overrides descriptions by status."""
    token = set(token)
    out: dict[int, OpenApiResponse] = {}
    for status in statuses:
        description = (text or {}).get(status) or (_EMBED_TEXT.get(status) if embed else None)
        schema: Any = TokenErrorSerializer if status in token else ErrorSerializer
        out[status] = OpenApiResponse(schema, description=description or _ERROR_TEXT[status])
    return out


def responses(
    success: dict[int, Any],
    *statuses: int,
    embed: bool = False,
    token: Iterable[int] = (),
    text: dict[int, str] | None = None,
) -> dict[int, Any]:
    """``success`` plus the error responses of ``statuses``."""
    return {**success, **errors(*statuses, embed=embed, token=token, text=text)}


# --- Pagination -------------------------------------------------------------------------


class PageInfoSerializer(DocSerializer):
    hasNextPage = serializers.BooleanField()
    endCursor = serializers.CharField(
        allow_null=True, help_text="Pass as `after` to get the next page; null when empty."
    )


def paginated(name: str, item: serializers.Field) -> type[serializers.Serializer]:
    """The ``{items: [item], pageInfo}`` wrapper of a list, as a component named ``name``;
    ``item`` is a serializer instance describing one item."""
    cls = type(
        name,
        (DocSerializer,),
        {
            "__module__": type(item).__module__,
            "__doc__": "A page of a list: `?first=N` (1-100, default 50) and `?after=<endCursor>`.",
            "items": serializers.ListField(child=item),
            "pageInfo": PageInfoSerializer(),
        },
    )
    # Not a list itself: keep drf-spectacular from wrapping it in an array again.
    return extend_schema_serializer(many=False)(cls)


# --- Security schemes --------------------------------------------------------------------


class BearerScheme(OpenApiAuthenticationExtension):
    """An ``Authorization: Bearer`` security scheme: a subclass names its authentication
    class (``target_class``) and the scheme (``name``), and says what the bearer is."""

    description: ClassVar[str] = ""
    bearer_format: ClassVar[str | None] = None

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        definition = {"type": "http", "scheme": "bearer", "description": self.description}
        if self.bearer_format:
            definition["bearerFormat"] = self.bearer_format
        return definition
