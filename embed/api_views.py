"""Hub, end user and session API (API key) and the embed API (connect session token).

Thin views: parse, call one service or selector, answer.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import oauth
from connections.inputs import InitialiseRequest
from core.api import require_no_body
from core.errors import PatchbayError
from core.openapi import LIST, READ, WRITE, responses
from embed import inputs, outputs, selectors, services
from embed.authentication import (
    ConnectSessionAuthentication,
    ConnectSessionPrincipal,
    EndUserTokenAuthentication,
    InvalidEndUserToken,
    check_session_hub,
)
from embed.models import EndUser, Hub
from organisations.tenancy import OrganisationScopedMixin, OrganisationScopedViewSet

_HUB_404 = {404: "`not_found`: the hub, or a connector it names, is not the organisation's."}
_EMBED_READ = (401, 404)
_EMBED_WRITE = (400, 401, 404, 413, 415)

# --- Hubs (API key) ----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="hubs_list", responses=responses({200: outputs.HubPage}, *LIST)
    ),
    create=extend_schema(
        operation_id="hubs_create",
        request=inputs.Hub,
        responses=responses({201: outputs.Hub}, *WRITE, text=_HUB_404),
    ),
    retrieve=extend_schema(
        operation_id="hubs_retrieve", responses=responses({200: outputs.Hub}, *READ)
    ),
    partial_update=extend_schema(
        operation_id="hubs_update",
        request=inputs.Hub,
        responses=responses({200: outputs.Hub}, *WRITE, text=_HUB_404),
    ),
    destroy=extend_schema(operation_id="hubs_delete", responses=responses({204: None}, *READ)),
)
class HubViewSet(OrganisationScopedViewSet):
    """``/o/{organisation_id}/hubs[/{hub_id}]``."""

    lookup_url_kwarg = "hub_id"
    permission_model = Hub

    def get_queryset(self) -> Any:
        return selectors.hub_list(organisation=self.organisation)

    def list(self, request: Request, organisation_id: str) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response([outputs.Hub.render(h) for h in page])

    def create(self, request: Request, organisation_id: str) -> Response:
        organisation = self.organisation  # 404 for other organisations before reading the body
        values = inputs.Hub.parse(request.data)
        hub = services.hub_create(organisation=organisation, **values)
        return Response(outputs.Hub.render(self._hub(hub.pk)), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        return Response(outputs.Hub.render(self._hub(hub_id)))

    def partial_update(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        hub = self._hub(hub_id)
        services.hub_update(hub=hub, **inputs.Hub.parse(request.data, partial=True))
        return Response(outputs.Hub.render(self._hub(hub.pk)))

    def destroy(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        services.hub_delete(hub=self._hub(hub_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _hub(self, hub_id: object) -> Hub:
        return selectors.hub_get(organisation=self.organisation, hub_id=hub_id)


class _HubChildMixin(OrganisationScopedMixin):
    _hub: Hub | None = None

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            self._hub = selectors.hub_get(
                organisation=self.organisation, hub_id=self.kwargs["hub_id"]
            )
        return self._hub


@extend_schema_view(
    list=extend_schema(
        operation_id="hub_users_list", responses=responses({200: outputs.EndUserPage}, *LIST)
    ),
    create=extend_schema(
        operation_id="hub_users_create",
        request=inputs.EndUserCreate,
        responses=responses(
            {201: outputs.EndUser},
            *WRITE,
            409,
            text={409: "`conflict`: the hub already has an end user with that externalId."},
        ),
    ),
    retrieve=extend_schema(
        operation_id="hub_users_retrieve", responses=responses({200: outputs.EndUser}, *READ)
    ),
    partial_update=extend_schema(
        operation_id="hub_users_update",
        description="Change `displayName`. `externalId` may be sent only unchanged.",
        request=inputs.EndUserUpdate,
        responses=responses({200: outputs.EndUser}, *WRITE),
    ),
    destroy=extend_schema(
        operation_id="hub_users_delete",
        description="Deletes the end user's connections and their own credentials too.",
        responses=responses({204: None}, *READ),
    ),
)
class EndUserViewSet(_HubChildMixin, OrganisationScopedViewSet):
    """``/o/{organisation_id}/hubs/{hub_id}/users[/{user_id}]``."""

    lookup_url_kwarg = "user_id"
    permission_model = EndUser

    def get_queryset(self) -> Any:
        return selectors.end_user_list(hub=self.hub)

    def list(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response([outputs.EndUser.render(u) for u in page])

    def create(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        hub = self.hub
        end_user = services.end_user_create(hub=hub, **inputs.EndUserCreate.parse(request.data))
        return Response(outputs.EndUser.render(end_user), status=status.HTTP_201_CREATED)

    def retrieve(
        self, request: Request, organisation_id: str, hub_id: str, user_id: str
    ) -> Response:
        return Response(outputs.EndUser.render(self._end_user()))

    def partial_update(
        self, request: Request, organisation_id: str, hub_id: str, user_id: str
    ) -> Response:
        end_user = self._end_user()
        values = inputs.EndUserUpdate.parse(request.data, instance=end_user)
        return Response(
            outputs.EndUser.render(services.end_user_update(end_user=end_user, **values))
        )

    def destroy(
        self, request: Request, organisation_id: str, hub_id: str, user_id: str
    ) -> Response:
        services.end_user_delete(end_user=self._end_user())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _end_user(self) -> EndUser:
        return selectors.end_user_get(hub=self.hub, end_user_id=self.kwargs["user_id"])


class SessionCreateView(_HubChildMixin):
    """``POST /o/{organisation_id}/hubs/{hub_id}/sessions`` → ``{token, expiresAt}``."""

    rate_limit_scope = "session_mint"  # core.ratelimit: per organisation
    # Minting a session may create the end user it is for.
    staff_permissions = {"*": ("embed.add_connectsession", "embed.add_enduser")}

    @extend_schema(
        operation_id="hub_sessions_create",
        request=inputs.SessionRequest,
        responses=responses({201: outputs.Session}, *WRITE),
    )
    def post(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        hub = self.hub
        values = inputs.SessionRequest.parse(request.data)
        new = services.connect_session_create(hub=hub, **values["end_user"])
        return Response(
            outputs.Session.render(new),
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )


# --- Embed API (connect session token) ---------------------------------------------------


class IsConnectSession(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, ConnectSessionPrincipal)


class EmbedView(APIView):
    """Base of ``/embed/{hub_id}/...``: a connect session of this very hub, else 401/404.

    Every answer (errors too) carries ``Cache-Control: no-store``; every 401 is
    ``invalid_session``, but for a refused company-signed token: ``invalid_token`` saying why.
    """

    authentication_classes = [ConnectSessionAuthentication, EndUserTokenAuthentication]
    permission_classes = [IsConnectSession]
    pagination_class = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        check_session_hub(self.principal.session, kwargs.get("hub_id"))

    @property
    def principal(self) -> ConnectSessionPrincipal:
        user = self.request.user
        assert isinstance(user, ConnectSessionPrincipal)
        return user

    @property
    def hub(self) -> Hub:
        return self.principal.hub

    @property
    def end_user(self) -> EndUser:
        return self.principal.end_user

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        session_refused = not isinstance(exc, InvalidEndUserToken)  # that one says why
        if session_refused and isinstance(
            exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed
        ):
            response.data = {
                "code": "invalid_session",
                "message": "The connect session is missing, malformed, unknown, expired or "
                "revoked.",
            }
        return response

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


_EXCHANGE = (
    "Exchange a company-signed end-user token (SPEC §11: a JWT signed with a key in the "
    "hub's `signingKeys`) for a connect session token, which the widget then uses for "
    "every call: the JWT itself works once (`jti`). The end user is created on first use."
)


class EmbedSessionView(EmbedView):
    @extend_schema(
        operation_id="embed_session",
        responses=responses({200: outputs.EmbedSession}, *_EMBED_READ, embed=True),
    )
    def get(self, request: Request, hub_id: str) -> Response:
        return Response(outputs.EmbedSession.render(self.principal.session))

    @extend_schema(
        operation_id="embed_session_exchange",
        description=_EXCHANGE,
        request=None,
        responses=responses(
            {201: outputs.Session},
            400,
            *_EMBED_READ,
            embed=True,
            text={
                400: "`not_an_end_user_token`: the bearer is a connect session token already.",
            },
        ),
    )
    def post(self, request: Request, hub_id: str) -> Response:
        exchanged = self.principal.exchanged
        if exchanged is None:
            raise PatchbayError(
                "not_an_end_user_token",
                "This exchanges a company-signed end-user token; the bearer is a connect "
                "session token already: use it as it is.",
                400,
            )
        require_no_body(request)
        return Response(outputs.Session.render(exchanged), status=status.HTTP_201_CREATED)


class EmbedConnectorsView(EmbedView):
    @extend_schema(
        operation_id="embed_connectors",
        responses=responses({200: outputs.EmbedConnectorList}, *_EMBED_READ, embed=True),
    )
    def get(self, request: Request, hub_id: str) -> Response:
        offers = [outputs.offer(c) for c in selectors.offered_connectors(hub=self.hub)]
        return Response(outputs.EmbedConnectorList.render([o for o in offers if o is not None]))


@extend_schema_view(
    get=extend_schema(
        operation_id="embed_connections_list",
        responses=responses({200: outputs.EmbedConnectionList}, *_EMBED_READ, embed=True),
    ),
    post=extend_schema(
        operation_id="embed_connections_create",
        request=inputs.EmbedConnectionCreate,
        responses=responses(
            {201: outputs.EmbedConnection},
            *_EMBED_WRITE,
            409,
            embed=True,
            text={
                400: "Invalid request, or `unsupported_auth_scheme` (not an api-key or "
                "basic-auth config).",
                409: "`conflict`: the connection name is taken.",
            },
        ),
    ),
)
class EmbedConnectionsView(EmbedView):
    def get(self, request: Request, hub_id: str) -> Response:
        connections = selectors.end_user_connections(end_user=self.end_user)
        return Response(outputs.EmbedConnectionList.render(connections))

    def post(self, request: Request, hub_id: str) -> Response:
        values = inputs.EmbedConnectionCreate.parse(request.data)
        connector = selectors.offered_connector(
            hub=self.hub, connector_id=values.pop("connector_id")
        )
        config = selectors.form_config(connector=connector, config_id=values.pop("config_id", None))
        connection = services.embed_connection_create(
            end_user=self.end_user, connector=connector, config=config, **values
        )
        connection.connector = connector
        return Response(outputs.EmbedConnection.render(connection), status=status.HTTP_201_CREATED)


@extend_schema_view(
    patch=extend_schema(
        operation_id="embed_connections_update",
        request=inputs.EmbedConnectionUpdate,
        responses=responses({200: outputs.EmbedConnection}, *_EMBED_WRITE, embed=True),
    ),
    delete=extend_schema(
        operation_id="embed_connections_delete",
        responses=responses({204: None}, *_EMBED_READ, embed=True),
    ),
)
class EmbedConnectionDetailView(EmbedView):
    def patch(self, request: Request, hub_id: str, connection_id: str) -> Response:
        connection = selectors.end_user_connection_get(
            end_user=self.end_user, connection_id=connection_id
        )
        values = inputs.EmbedConnectionUpdate.parse(request.data)
        connection = services.embed_connection_secret_replace(connection=connection, **values)
        return Response(outputs.EmbedConnection.render(connection))

    def delete(self, request: Request, hub_id: str, connection_id: str) -> Response:
        connection = selectors.end_user_connection_get(
            end_user=self.end_user, connection_id=connection_id
        )
        services.embed_connection_delete(connection=connection)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmbedInitialiseView(EmbedView):
    """``POST /embed/{hub_id}/connector/{connector_id}/oauth2/initialise`` (seed 002):
    the organisation-scoped flow code, for the session's end user."""

    @extend_schema(
        operation_id="embed_oauth2_initialise",
        request=InitialiseRequest,
        responses=responses({200: outputs.EmbedInitialiseResponse}, *_EMBED_WRITE, embed=True),
    )
    def post(self, request: Request, hub_id: str, connector_id: str) -> Response:
        hub = self.hub
        # The flow reads the connector within the hub's organisation and only among the
        # connectors the hub offers (404 otherwise), in the same query as its config.
        params = oauth.InitialiseParams(
            organisation=hub.organisation,
            connector_id=connector_id,
            hub_id=hub.pk,
            end_user_id=self.end_user.pk,
            connect_session_id=self.principal.session.pk,
            **InitialiseRequest.parse(request.data),
        )
        result = oauth.authorisation_initialise(params)
        return Response(outputs.EmbedInitialiseResponse.render(result))


class EmbedAuthorisationView(EmbedView):
    @extend_schema(
        operation_id="embed_authorisation_status",
        responses=responses({200: outputs.AuthorisationStatus}, *_EMBED_READ, embed=True),
    )
    def get(self, request: Request, hub_id: str, authorisation_id: str) -> Response:
        authorisation = selectors.end_user_authorisation_get(
            hub=self.hub, end_user=self.end_user, authorisation_id=authorisation_id
        )
        return Response(
            outputs.AuthorisationStatus.render(outputs.authorisation_outcome(authorisation))
        )
