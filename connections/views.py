"""Connections API, OAuth 2.0 initialise, grants and the API callback: parse, call the flow,
answer. The browser callback page is :mod:`embed.callback_views`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import oauth
from connections.models import Connection
from connections.openapi import (
    AccessTokenSerializer,
    ConnectionPageSerializer,
    ConnectionSerializer,
    ConnectionWriteSerializer,
    GrantTokenRequestSerializer,
    InitialiseRequestSerializer,
    InitialiseResponseSerializer,
)
from connections.representation import connection_repr
from connections.selectors import connection_get, connection_list
from connections.services import (
    CredentialRef,
    connection_create,
    connection_delete,
    connection_update,
)
from core.errors import FieldError, PatchbayError
from core.openapi import LIST, READ, WRITE, responses
from core.time import iso
from core.validation import Problems, check_object, clean_text, join
from credentials.openapi import credential
from credentials.representation import credential_repr
from organisations.authentication import ApiKeyPrincipal
from organisations.tenancy import OrganisationScopedMixin, OrganisationScopedViewSet

_CALLBACK_QUERY = [
    OpenApiParameter(name, str, OpenApiParameter.QUERY, required=name == "state")
    for name in ("code", "state", "error", "error_description", "iss")
]

# --- OAuth 2.0 ----------------------------------------------------------------


class InitialiseView(OrganisationScopedMixin):
    """``POST /o/{organisation_id}/connectors/{connector_id}/oauth2/initialise`` → ``{url}``."""

    @extend_schema(
        operation_id="oauth2_initialise",
        request=InitialiseRequestSerializer,
        responses=responses(
            {200: InitialiseResponseSerializer},
            *WRITE,
            text={
                400: "Invalid request (`invalid_request`, `client_id_mismatch`, "
                "`conflicting_params`, …).",
                404: "`not_found`: the connector, the credential, the auth scheme config or "
                "the connection to re-authorise.",
            },
        ),
    )
    def post(self, request: Request, organisation_id: str, connector_id: str) -> Response:
        params = oauth.InitialiseParams.from_body(
            organisation=self.organisation, connector_id=connector_id, body=request.data
        )
        result = oauth.authorisation_initialise(params)
        return Response({"url": result.url}, headers={"Cache-Control": "no-store"})


class GrantTokenView(OrganisationScopedMixin):
    """``POST /o/{organisation_id}/connectors/{connector_id}/oauth2/token`` → 201 connection.

    For oauth2 configs whose grant is ``clientCredentials`` or ``password``: the token is
    fetched at once, without a browser. Body ``{name?, authSchemeConfigId?, credential?:
    {id, organisationId?}}`` (``credential``: the ``oauth2-password`` credential of a
    password grant).
    """

    @extend_schema(
        operation_id="oauth2_grant_token",
        request=GrantTokenRequestSerializer,
        responses=responses(
            {201: ConnectionSerializer},
            *WRITE,
            409,
            502,
            token=(502,),
            text={
                400: "Invalid request (`invalid_request`, `auth_scheme_config_required`, "
                "`unsupported_grant`, …).",
                409: "`conflict`: the connection name is taken.",
                502: "`token_exchange_failed`: the provider did not issue a token.",
            },
        ),
    )
    def post(self, request: Request, organisation_id: str, connector_id: str) -> Response:
        params = oauth.GrantParams.from_body(
            organisation=self.organisation, connector_id=connector_id, body=request.data
        )
        connection = oauth.connection_create_with_grant(params)
        return Response(
            connection_repr(
                connection_get(organisation=self.organisation, connection_id=connection.pk)
            ),
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )


class IsApiKey(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, ApiKeyPrincipal)


class CallbackApiView(APIView):
    """``GET /connections/oauth2/callback`` (API): finish a flow whose redirect the client caught.

    Only the state's own organisation may finish it: another organisation's state is
    ``invalid_state`` and stays usable.
    """

    permission_classes = [IsApiKey]

    @extend_schema(
        operation_id="oauth2_callback",
        parameters=_CALLBACK_QUERY,
        responses=responses(
            {201: credential()},
            400,
            401,
            502,
            token=(502,),
            text={
                400: "`invalid_state` (unknown, expired, used or another organisation's), "
                "`invalid_request`, `invalid_issuer`, or the provider's own error code "
                "(`access_denied`, …).",
                502: "`token_exchange_failed`: the provider did not issue a token.",
            },
        ),
    )
    def get(self, request: Request) -> Response:
        params = oauth.callback_params_parse(request.query_params.lists())
        assert isinstance(request.user, ApiKeyPrincipal)
        outcome = oauth.authorisation_complete(params, organisation=request.user.organisation)
        return Response(
            credential_repr(outcome.credential),
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )


# --- Connections ------------------------------------------------------------------


def _force_refresh(values: list[str]) -> bool:
    """``forceRefresh``: absent, ``true`` or ``false`` (once); anything else is a 400."""
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


_WRITABLE = frozenset({"name", "systemId", "baseUrl", "connectionTemplateId", "credentials"})
_READ_ONLY = frozenset({"id", "createdAt", "updatedAt", "status", "endUser"})
_UNSET: Any = object()


def _connection_body(data: Any, *, partial: bool) -> dict[str, Any]:
    """The writable fields present in a connection body, validated; absent ones are left out."""
    problems = Problems()
    body = check_object(data, "", problems, allowed=_WRITABLE | _READ_ONLY) or {}
    problems.raise_if_any()
    out: dict[str, Any] = {}
    if "name" in body or not partial:
        out["name"] = clean_text(body.get("name"), "name", problems, max_length=200, required=True)
    if "systemId" in body or not partial:
        out["systemId"] = clean_text(body.get("systemId"), "systemId", problems, required=True)
    for key, limit in (("baseUrl", 2048), ("connectionTemplateId", 200)):
        if key in body:
            out[key] = clean_text(body.get(key), key, problems, max_length=limit) or ""
    if "credentials" in body:
        out["credentials"] = _credential_refs(body.get("credentials"), problems)
    problems.raise_if_any()
    return out


def _credential_refs(value: Any, problems: Problems) -> list[CredentialRef]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add("credentials", "Must be a list.")
        return []
    refs = []
    for index, item in enumerate(value[:100]):
        path = join("credentials", index)
        entry = check_object(item, path, problems, allowed={"authSchemeConfigId", "credentialId"})
        if entry is None:
            continue
        config_id = clean_text(
            entry.get("authSchemeConfigId"), join(path, "authSchemeConfigId"), problems,
            max_length=100, required=True,
        )  # fmt: skip
        credential_id = clean_text(
            entry.get("credentialId"), join(path, "credentialId"), problems, required=True
        )
        if config_id and credential_id:
            refs.append(CredentialRef(config_id, credential_id))
    return refs


_CONNECTION_WRITE = {
    400: "Invalid request (`invalid_request`, `credential_type_mismatch`, …).",
    404: "`not_found`: the connection, or a connector, auth scheme config or credential it names.",
    409: "`conflict`: the name is taken within the connector.",
}


@extend_schema_view(
    list=extend_schema(
        operation_id="connections_list",
        responses=responses({200: ConnectionPageSerializer}, *LIST),
    ),
    create=extend_schema(
        operation_id="connections_create",
        request=ConnectionWriteSerializer,
        responses=responses({201: ConnectionSerializer}, *WRITE, 409, text=_CONNECTION_WRITE),
    ),
    retrieve=extend_schema(
        operation_id="connections_retrieve",
        responses=responses({200: ConnectionSerializer}, *READ),
    ),
    partial_update=extend_schema(
        operation_id="connections_update",
        request=ConnectionWriteSerializer,
        responses=responses({200: ConnectionSerializer}, *WRITE, 409, text=_CONNECTION_WRITE),
    ),
    destroy=extend_schema(
        operation_id="connections_delete", responses=responses({204: None}, *READ)
    ),
)
class ConnectionViewSet(OrganisationScopedViewSet):
    lookup_url_kwarg = "connection_id"

    def get_queryset(self) -> Any:
        return connection_list(organisation=self.organisation)

    def list(self, request: Request, organisation_id: str) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response([connection_repr(c) for c in page])

    def create(self, request: Request, organisation_id: str) -> Response:
        organisation = self.organisation  # 404 for other organisations before reading the body
        body = _connection_body(request.data, partial=False)
        connection = connection_create(
            organisation=organisation,
            connector_id=body["systemId"],
            name=body["name"],
            base_url=body.get("baseUrl", ""),
            connection_template_id=body.get("connectionTemplateId", ""),
            credentials=body.get("credentials"),
        )
        return Response(connection_repr(self._reread(connection)), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, organisation_id: str, connection_id: str) -> Response:
        return Response(connection_repr(self._connection()))

    def partial_update(
        self, request: Request, organisation_id: str, connection_id: str
    ) -> Response:
        connection = self._connection()
        body = _connection_body(request.data, partial=True)
        if "systemId" in body and body["systemId"] != str(connection.connector_id):
            raise PatchbayError("invalid_request", "systemId cannot be changed.", 400)
        connection = connection_update(
            connection=connection,
            name=body.get("name"),
            base_url=body.get("baseUrl"),
            connection_template_id=body.get("connectionTemplateId"),
            credentials=body.get("credentials"),
        )
        return Response(connection_repr(self._reread(connection)))

    def destroy(self, request: Request, organisation_id: str, connection_id: str) -> Response:
        connection_delete(connection=self._connection())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="connections_access_token",
        parameters=[OpenApiParameter("forceRefresh", bool, OpenApiParameter.QUERY)],
        responses=responses(
            {200: AccessTokenSerializer},
            400,
            401,
            404,
            409,
            502,
            token=(409, 502),
            text={
                400: "`invalid_request` (`forceRefresh` is not `true` or `false`) or "
                "`no_oauth2_credential`.",
                409: "`reauthorisation_required`: the provider refused the grant; the "
                "connection is `needs_reauth`.",
                502: "`token_refresh_failed`: retry after `retryAfter` seconds (also in "
                "`Retry-After`).",
            },
        ),
    )
    def access_token(self, request: Request, organisation_id: str, connection_id: str) -> Response:
        """``GET .../connections/{id}/access-token`` → ``{accessToken, tokenType, expiresAt,
        scopes}``, refreshed first when due or with ``forceRefresh=true``; never the refresh
        token. 409 ``reauthorisation_required``; 502 ``token_refresh_failed`` with
        ``Retry-After``."""
        connection = self._connection()
        force = _force_refresh(request.query_params.getlist("forceRefresh"))
        try:
            token = oauth.access_token_get(connection, force_refresh=force)
        except oauth.TokenRefreshFailed as exc:
            return Response(
                exc.as_dict(),
                status=exc.status,
                headers={"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"},
            )
        return Response(
            {
                "accessToken": token.access_token,
                "tokenType": token.token_type,
                "expiresAt": iso(token.expires_at),
                "scopes": token.scopes,
            },
            headers={"Cache-Control": "no-store"},
        )

    def _connection(self) -> Connection:
        return connection_get(
            organisation=self.organisation, connection_id=self.kwargs["connection_id"]
        )

    def _reread(self, connection: Connection) -> Connection:
        return connection_get(organisation=self.organisation, connection_id=connection.pk)
