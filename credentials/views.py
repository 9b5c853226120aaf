"""The credentials API (SPEC §4): parse, call a service, answer the representation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.openapi import DELETE, LIST, READ, WRITE, responses
from credentials import outputs
from credentials.inputs import credential_body, credential_request, credential_type_resolve
from credentials.inputs.exchange import CredentialOAuth2Code
from credentials.models import Credential
from credentials.selectors import credential_list
from credentials.services import (
    UNSET,
    credential_create,
    credential_delete,
    credential_exchange_run,
    credential_update,
)
from credentials.types import CREDENTIAL_TYPES, TYPE_ALIASES
from organisations.tenancy import OrganisationScopedViewSet

_TYPES_400 = {
    400: "Invalid request; `use_oauth_flow` for the input-only type `oauth1` (exchanged by its "
    "OAuth flow, never stored by this API). An `oauth2-code` is exchanged at once, with every "
    "rule of the OAuth 2.0 callback (`invalid_state`, `invalid_issuer`, "
    "`redirect_url_mismatch`...), and answered with the stored `oauth2-token` (201); 502 "
    "`token_exchange_failed` when the provider refuses it."
}
_MTLS_404 = {404: "`not_found`: the credential, or the `mTLSCredentialId` it names."}


@extend_schema_view(
    list=extend_schema(
        operation_id="credentials_list",
        parameters=[
            OpenApiParameter(
                "type",
                str,
                OpenApiParameter.QUERY,
                enum=[*CREDENTIAL_TYPES, *TYPE_ALIASES],
                description="Only credentials of this type (or of the type it is a name for).",
            )
        ],
        responses=responses({200: outputs.CredentialPage}, *LIST),
    ),
    create=extend_schema(
        operation_id="credentials_create",
        request=credential_request(create=True),
        responses=responses(
            {201: outputs.credential_schema()}, *WRITE, text={**_TYPES_400, **_MTLS_404}
        ),
    ),
    retrieve=extend_schema(
        operation_id="credentials_retrieve",
        responses=responses({200: outputs.credential_schema()}, *READ),
    ),
    update=extend_schema(
        operation_id="credentials_replace",
        description="Replace the credential. Omitted secret fields keep their stored value.",
        request=credential_request(),
        responses=responses(
            {200: outputs.credential_schema()}, *WRITE, text={**_TYPES_400, **_MTLS_404}
        ),
    ),
    partial_update=extend_schema(
        operation_id="credentials_update",
        description="Change the given fields. Omitted fields keep their stored value; "
        "`null` clears one.",
        request=credential_request(),
        responses=responses(
            {200: outputs.credential_schema()}, *WRITE, text={**_TYPES_400, **_MTLS_404}
        ),
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
    permission_model = Credential

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
        return self.get_paginated_response([outputs.Credential.render(c) for c in page])

    def create(self, request: Request, organisation_id: str) -> Response:
        organisation = self.organisation  # 404 for other organisations before reading the body
        if isinstance(request.data, dict) and request.data.get("type") == "oauth2-code":
            # Input only: exchanged by the OAuth flow (connections), stored as oauth2-token.
            code = CredentialOAuth2Code.parse(request.data)
            credential = credential_exchange_run(
                organisation=organisation,
                type_name="oauth2-code",
                values=code["data"]["oauth2_code"],
                name=code.get("name", ""),
            )
            return Response(outputs.Credential.render(credential), status=status.HTTP_201_CREATED)
        body = credential_body(request.data, organisation_id=organisation.pk)
        credential = credential_create(
            organisation=organisation,
            name=body.get("name", ""),
            type=body["type"],
            data=body["data"],
            expires_at=body.get("expiresAt"),
            redact_fields=body.get("redactFields"),
        )
        return Response(outputs.Credential.render(credential), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, organisation_id: str, credential_id: str) -> Response:
        return Response(outputs.Credential.render(self._credential()))

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
        body = credential_body(
            request.data,
            organisation_id=credential.organisation_id,
            stored=credential,
            partial=partial,
        )
        # PUT replaces: what it leaves out is cleared (secrets are kept, see the service).
        cleared: dict[str, Any] = {} if partial else {"name": "", "expiresAt": None}
        credential = credential_update(
            credential=credential,
            name=body.get("name", cleared.get("name", UNSET)),
            data=body.get("data", UNSET),
            expires_at=body.get("expiresAt", cleared.get("expiresAt", UNSET)),
            redact_fields=body.get("redactFields", UNSET),
            partial=partial,
        )
        return Response(outputs.Credential.render(credential))
