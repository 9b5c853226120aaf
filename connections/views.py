"""Connections API, OAuth 2.0 initialise, grants and the API callback: parse, call the flow,
answer. The browser callback page is :mod:`embed.callback_views`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import inputs, oauth, outputs
from connections.models import Connection
from connections.selectors import (
    connection_get,
    connection_list,
    connection_token_link,
    connections_with_links,
)
from connections.services import connection_create, connection_delete, connection_update
from connections.verification import connection_verify
from core.openapi import LIST, READ, WRITE, responses
from credentials import outputs as credential_outputs
from organisations.authentication import OrganisationCaller
from organisations.tenancy import OrganisationScopedMixin, OrganisationScopedViewSet

_CALLBACK_QUERY = [
    OpenApiParameter(name, str, OpenApiParameter.QUERY, required=name == "state")
    for name in ("code", "state", "error", "error_description", "iss")
]

# --- OAuth 2.0 ----------------------------------------------------------------


class InitialiseView(OrganisationScopedMixin):
    """``POST /o/{organisation_id}/connectors/{connector_id}/oauth2/initialise`` → ``{url}``."""

    # It ends in a new (or re-authorised) connection and its token credential.
    staff_permissions = {"*": ("connections.add_connection", "credentials.add_credential")}

    @extend_schema(
        operation_id="oauth2_initialise",
        request=inputs.InitialiseRequest,
        responses=responses(
            {200: outputs.InitialiseResponse},
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
        organisation = self.organisation  # 404 for other organisations before reading the body
        params = oauth.InitialiseParams(
            organisation=organisation,
            connector_id=connector_id,
            **inputs.InitialiseRequest.parse(request.data),
        )
        result = oauth.authorisation_initialise(params)
        return Response(
            outputs.InitialiseResponse.render(result), headers={"Cache-Control": "no-store"}
        )


class GrantTokenView(OrganisationScopedMixin):
    """``POST /o/{organisation_id}/connectors/{connector_id}/oauth2/token`` → 201 connection.

    For oauth2 configs whose grant is ``clientCredentials`` or ``password``: the token is
    fetched at once, without a browser. Body ``{name?, authSchemeConfigId?, credential?:
    {id, organisationId?}}`` (``credential``: the ``oauth2-password`` credential of a
    password grant).
    """

    staff_permissions = {"*": ("connections.add_connection", "credentials.add_credential")}

    @extend_schema(
        operation_id="oauth2_grant_token",
        request=inputs.GrantTokenRequest,
        responses=responses(
            {201: outputs.Connection},
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
        organisation = self.organisation  # 404 for other organisations before reading the body
        params = oauth.GrantParams(
            organisation=organisation,
            connector_id=connector_id,
            **inputs.GrantTokenRequest.parse(request.data),
        )
        connection = oauth.connection_create_with_grant(params)
        return Response(
            outputs.Connection.render(
                connection_get(organisation=organisation, connection_id=connection.pk)
            ),
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )


class IsOrganisationCaller(permissions.BasePermission):
    """An API key or an IdP's id_token: a caller that acts for one organisation."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, OrganisationCaller)


class CallbackApiView(APIView):
    """``GET /connections/oauth2/callback`` (API): finish a flow whose redirect the client caught.

    Only the state's own organisation may finish it: another organisation's state is
    ``invalid_state`` and stays usable.
    """

    permission_classes = [IsOrganisationCaller]
    rate_limit_scope = "callback"  # core.ratelimit: per organisation, beside per address

    @extend_schema(
        operation_id="oauth2_callback",
        parameters=_CALLBACK_QUERY,
        responses=responses(
            {201: credential_outputs.credential_schema()},
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
        assert isinstance(request.user, OrganisationCaller)
        outcome = oauth.authorisation_complete(params, organisation=request.user.organisation)
        return Response(
            credential_outputs.Credential.render(outcome.credential),
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )


# --- Connections ------------------------------------------------------------------


_CONNECTION_WRITE = {
    400: "Invalid request (`invalid_request`, `credential_type_mismatch`, …).",
    404: "`not_found`: the connection, or a connector, auth scheme config or credential it names.",
    409: "`conflict`: the name is taken within the connector.",
}


@extend_schema_view(
    list=extend_schema(
        operation_id="connections_list",
        responses=responses({200: outputs.ConnectionPage}, *LIST),
    ),
    create=extend_schema(
        operation_id="connections_create",
        request=inputs.ConnectionCreate,
        responses=responses(
            {201: outputs.Connection},
            *WRITE,
            409,
            502,
            504,
            token=(502,),
            text={
                **_CONNECTION_WRITE,
                400: _CONNECTION_WRITE[400] + " With `verify: true`: `credential_invalid` "
                "(the API refused the credentials; nothing stored).",
                409: _CONNECTION_WRITE[409] + " With `verify: true`: "
                "`verification_not_configured`, `reauthorisation_required`.",
                502: "With `verify: true`: `upstream_unreachable`, `token_refresh_failed`.",
                504: "With `verify: true`: `upstream_timeout`.",
            },
        ),
    ),
    retrieve=extend_schema(
        operation_id="connections_retrieve",
        responses=responses({200: outputs.Connection}, *READ),
    ),
    partial_update=extend_schema(
        operation_id="connections_update",
        request=inputs.ConnectionWrite,
        responses=responses({200: outputs.Connection}, *WRITE, 409, text=_CONNECTION_WRITE),
    ),
    destroy=extend_schema(
        operation_id="connections_delete", responses=responses({204: None}, *READ)
    ),
)
class ConnectionViewSet(OrganisationScopedViewSet):
    permission_model = Connection
    staff_permissions = {
        # The live secret of a credential, which fetching may refresh (a write).
        "access_token": ("connections.view_connection", "credentials.change_credential"),
        "verify": ("connections.change_connection",),
    }
    lookup_url_kwarg = "connection_id"

    def get_queryset(self) -> Any:
        return connection_list(organisation=self.organisation)

    def list(self, request: Request, organisation_id: str) -> Response:
        page = connections_with_links(self.paginate_queryset(self.get_queryset()) or [])
        return self.get_paginated_response([outputs.Connection.render(c) for c in page])

    def create(self, request: Request, organisation_id: str) -> Response:
        organisation = self.organisation  # 404 for other organisations before reading the body
        body = inputs.ConnectionCreate.parse(request.data)
        connection = connection_create(organisation=organisation, **body)
        return Response(
            outputs.Connection.render(self._reread(connection)), status=status.HTTP_201_CREATED
        )

    def retrieve(self, request: Request, organisation_id: str, connection_id: str) -> Response:
        return Response(outputs.Connection.render(self._connection()))

    def partial_update(
        self, request: Request, organisation_id: str, connection_id: str
    ) -> Response:
        connection = self._connection()
        body = inputs.ConnectionWrite.parse(request.data, partial=True)
        connection = connection_update(connection=connection, **body)
        return Response(outputs.Connection.render(self._reread(connection)))

    def destroy(self, request: Request, organisation_id: str, connection_id: str) -> Response:
        connection_delete(connection=self._connection())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="connections_access_token",
        parameters=[OpenApiParameter("forceRefresh", bool, OpenApiParameter.QUERY)],
        responses=responses(
            {200: outputs.AccessToken},
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
        # The connection and its token link only: the same cost with 1 credential or 20.
        connection, link = connection_token_link(
            organisation=self.organisation, connection_id=self.kwargs["connection_id"]
        )
        force = inputs.force_refresh(request.query_params.getlist("forceRefresh"))
        try:
            token = oauth.access_token_get(connection, force_refresh=force, link=link)
        except oauth.TokenRefreshFailed as exc:
            return Response(
                exc.as_dict(),
                status=exc.status,
                headers={"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"},
            )
        return Response(outputs.AccessToken.render(token), headers={"Cache-Control": "no-store"})

    @extend_schema(
        operation_id="connections_verify",
        request=None,  # no body (an empty object is accepted too)
        responses=responses(
            {200: outputs.VerificationOutcome},
            401,
            404,
            409,
            502,
            504,
            token=(409, 502),
            text={
                409: "`verification_not_configured`: no auth scheme config of the connection "
                "has `verification`; `reauthorisation_required`: the connection is "
                "`needs_reauth`.",
                502: "`upstream_unreachable` or `token_refresh_failed`.",
                504: "`upstream_timeout`.",
            },
        ),
    )
    def verify(self, request: Request, organisation_id: str, connection_id: str) -> Response:
        """``POST .../connections/{id}/verify`` → ``{valid, status, checkedAt}``: the config's
        verification request sent with the connection's credentials (SPEC §9.2); their
        ``errors`` become ``[]`` or name the status."""
        connection = self._connection()  # 404 for other organisations before the body
        if request.body:
            inputs.VerifyRequest.parse(request.data)
        result = connection_verify(connection=connection)
        return Response(
            outputs.VerificationOutcome.render(result), headers={"Cache-Control": "no-store"}
        )

    def _connection(self) -> Connection:
        return connection_get(
            organisation=self.organisation, connection_id=self.kwargs["connection_id"]
        )

    def _reread(self, connection: Connection) -> Connection:
        return connection_get(organisation=self.organisation, connection_id=connection.pk)
