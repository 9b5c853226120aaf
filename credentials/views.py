"""The credentials API (SPEC §4): parse, call a service, answer the representation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import FieldError, PatchbayError, not_found
from core.openapi import DELETE, LIST, READ, WRITE, responses
from core.text import parse_uuid
from core.validation import Problems, clean_datetime, json_object
from credentials.models import Credential
from credentials.openapi import CredentialPageSerializer, credential
from credentials.representation import credential_repr
from credentials.selectors import credential_list
from credentials.services import (
    UNSET,
    credential_create,
    credential_delete,
    credential_type_resolve,
    credential_update,
)
from credentials.types import CREDENTIAL_TYPES, TYPE_ALIASES
from organisations.models import Organisation
from organisations.tenancy import OrganisationScopedViewSet

WRITABLE = frozenset({"name", "type", "data", "expiresAt", "redactFields"})
# Sent back as read: accepted and ignored, so a client can PUT what it GOT.
READ_ONLY = frozenset({"id", "organisationId", "errors", "createdAt", "updatedAt"})


def unwrap_data(*, given_type: str, type_name: str, data: Any) -> Any:
    """The inner object of ``{"data": {"<key>": {...}}}``.

    Clients using a seed-003 type name (``Default``, ``Raw`` ...) may send the
    old, unwrapped shape, which is accepted as the inner object.
    """
    key = CREDENTIAL_TYPES[type_name].data_key
    if data is None:
        return None
    if not isinstance(data, dict):
        raise PatchbayError(
            "invalid_request",
            "data must be a JSON object.",
            fields=[FieldError("data", "Must be an object.")],
        )
    if list(data) == [key] and isinstance(data[key], dict | None):
        return data[key]
    if given_type in TYPE_ALIASES or (not data and type_name == "none"):
        return data
    message = f"Must have exactly one key, '{key}', holding the {type_name} data."
    raise PatchbayError("invalid_request", f"data: {message}", fields=[FieldError("data", message)])


def _body(request: Request, organisation: Organisation) -> dict[str, Any]:
    """The JSON body; read-only fields (as in a GET answer sent back) are ignored, except
    that an ``organisationId`` naming another organisation answers 404 (SPEC §3)."""
    body = json_object(request.data, allowed=WRITABLE | READ_ONLY)
    if "organisationId" in body and parse_uuid(body["organisationId"]) != organisation.pk:
        raise not_found("organisation")
    return body


def _expires_at(body: dict[str, Any]) -> Any:
    problems = Problems()
    value = clean_datetime(body.get("expiresAt"), "expiresAt", problems)
    problems.raise_if_any()
    return value


_TYPES_400 = {
    400: "Invalid request; `use_oauth_flow` for the input-only types `oauth2-code` and "
    "`oauth1` (exchanged by the OAuth flows, never stored by this API)."
}
_MTLS_404 = {404: "`not_found`: the credential, or the `mTLSCredentialId` it names."}


@extend_schema_view(
    list=extend_schema(
        operation_id="credentials_list",
        parameters=[
            OpenApiParameter(
                "type", str, OpenApiParameter.QUERY, description="Only credentials of this type."
            )
        ],
        responses=responses({200: CredentialPageSerializer}, *LIST),
    ),
    create=extend_schema(
        operation_id="credentials_create",
        request=credential(),
        responses=responses({201: credential()}, *WRITE, text={**_TYPES_400, **_MTLS_404}),
    ),
    retrieve=extend_schema(
        operation_id="credentials_retrieve", responses=responses({200: credential()}, *READ)
    ),
    update=extend_schema(
        operation_id="credentials_replace",
        description="Replace the credential. Omitted secret fields keep their stored value.",
        request=credential(),
        responses=responses({200: credential()}, *WRITE, text={**_TYPES_400, **_MTLS_404}),
    ),
    partial_update=extend_schema(
        operation_id="credentials_update",
        description="Change the given fields. Omitted fields keep their stored value; "
        "`null` clears one.",
        request=credential(),
        responses=responses({200: credential()}, *WRITE, text={**_TYPES_400, **_MTLS_404}),
    ),
    destroy=extend_schema(
        operation_id="credentials_delete",
        responses=responses(
            {204: None},
            *DELETE,
            text={409: "`credential_in_use`: a connector config or connection needs it."},
        ),
    ),
)
class CredentialViewSet(OrganisationScopedViewSet):
    """Credentials of the caller's organisation; secret fields are write-only (SPEC §4)."""

    lookup_url_kwarg = "credential_id"

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Credential.objects.none()
        return credential_list(organisation=self.organisation)

    def list(self, request: Request, organisation_id: str) -> Response:
        queryset = self.get_queryset()
        wanted = request.query_params.get("type")
        if wanted is not None:
            queryset = queryset.filter(type=credential_type_resolve(wanted))
        page = self.paginate_queryset(queryset) or []
        return self.get_paginated_response([credential_repr(c) for c in page])

    def create(self, request: Request, organisation_id: str) -> Response:
        organisation = self.organisation  # 404 for other organisations before reading the body
        body = _body(request, organisation)
        given_type = body.get("type")
        type_name = credential_type_resolve(given_type)
        credential = credential_create(
            organisation=organisation,
            name=body.get("name") or "",
            type=type_name,
            data=unwrap_data(
                given_type=str(given_type), type_name=type_name, data=body.get("data")
            ),
            expires_at=_expires_at(body),
            redact_fields=body.get("redactFields"),
        )
        return Response(credential_repr(credential), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, organisation_id: str, credential_id: str) -> Response:
        return Response(credential_repr(self._credential()))

    def update(self, request: Request, organisation_id: str, credential_id: str) -> Response:
        return self._update(request, partial=False)

    def partial_update(
        self, request: Request, organisation_id: str, credential_id: str
    ) -> Response:
        return self._update(request, partial=True)

    def destroy(self, request: Request, organisation_id: str, credential_id: str) -> Response:
        credential_delete(credential=self._credential())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _credential(self) -> Credential:
        credential = self.get_object()
        assert isinstance(credential, Credential)
        return credential

    def _update(self, request: Request, *, partial: bool) -> Response:
        credential = self._credential()
        body = _body(request, self.organisation)
        given_type = body.get("type", UNSET)
        data: Any = UNSET
        if "data" in body or not partial:
            data = unwrap_data(
                given_type=str(given_type if given_type is not UNSET else credential.type),
                type_name=credential.type,
                data=body.get("data"),
            )
        credential = credential_update(
            credential=credential,
            name=body.get("name", UNSET if partial else ""),
            type=given_type,
            data=data,
            expires_at=_expires_at(body) if "expiresAt" in body or not partial else UNSET,
            redact_fields=body.get("redactFields", UNSET),
            partial=partial,
        )
        return Response(credential_repr(credential))
