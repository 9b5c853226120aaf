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
from connections.openapi import InitialiseRequestSerializer
from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from core.errors import FieldError, PatchbayError, not_found
from core.openapi import LIST, READ, WRITE, responses
from core.time import iso
from core.validation import Problems, check_object, clean_text, json_object
from embed import selectors, services
from embed.authentication import (
    ConnectSessionAuthentication,
    ConnectSessionPrincipal,
    check_session_hub,
)
from embed.models import EndUser, Hub
from embed.openapi import (
    AuthorisationStatusSerializer,
    EmbedConnectionCreateSerializer,
    EmbedConnectionListSerializer,
    EmbedConnectionSerializer,
    EmbedConnectionUpdateSerializer,
    EmbedConnectorListSerializer,
    EmbedInitialiseResponseSerializer,
    EmbedSessionSerializer,
    EndUserPageSerializer,
    EndUserSerializer,
    HubPageSerializer,
    HubSerializer,
    SessionRequestSerializer,
    SessionSerializer,
)
from embed.representation import (
    authorisation_status_repr,
    embed_connection_repr,
    embed_connector_repr,
    embed_session_repr,
    end_user_repr,
    hub_repr,
)
from organisations.tenancy import OrganisationScopedMixin, OrganisationScopedViewSet

_HUB_404 = {404: "`not_found`: the hub, or a connector it names, is not the organisation's."}
_EMBED_READ = (401, 404)
_EMBED_WRITE = (400, 401, 404, 413, 415)

# --- Hubs (API key) ----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="hubs_list", responses=responses({200: HubPageSerializer}, *LIST)
    ),
    create=extend_schema(
        operation_id="hubs_create",
        request=HubSerializer,
        responses=responses({201: HubSerializer}, *WRITE, text=_HUB_404),
    ),
    retrieve=extend_schema(
        operation_id="hubs_retrieve", responses=responses({200: HubSerializer}, *READ)
    ),
    partial_update=extend_schema(
        operation_id="hubs_update",
        request=HubSerializer,
        responses=responses({200: HubSerializer}, *WRITE, text=_HUB_404),
    ),
    destroy=extend_schema(operation_id="hubs_delete", responses=responses({204: None}, *READ)),
)
class HubViewSet(OrganisationScopedViewSet):
    """``/o/{organisation_id}/hubs[/{hub_id}]``."""

    lookup_url_kwarg = "hub_id"

    def get_queryset(self) -> Any:
        return selectors.hub_list(organisation=self.organisation)

    def list(self, request: Request, organisation_id: str) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response([hub_repr(h) for h in page])

    def create(self, request: Request, organisation_id: str) -> Response:
        organisation = self.organisation  # 404 for other organisations before reading the body
        fields = services.hub_fields_clean(
            organisation=organisation, body=request.data, partial=False
        )
        hub = services.hub_create(organisation=organisation, fields=fields)
        return Response(hub_repr(self._hub(hub.pk)), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        return Response(hub_repr(self._hub(hub_id)))

    def partial_update(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        hub = self._hub(hub_id)
        fields = services.hub_fields_clean(
            organisation=self.organisation, body=request.data, partial=True
        )
        services.hub_update(hub=hub, fields=fields)
        return Response(hub_repr(self._hub(hub.pk)))

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
        operation_id="hub_users_list", responses=responses({200: EndUserPageSerializer}, *LIST)
    ),
    create=extend_schema(
        operation_id="hub_users_create",
        request=EndUserSerializer,
        responses=responses(
            {201: EndUserSerializer},
            *WRITE,
            409,
            text={409: "`conflict`: the hub already has an end user with that externalId."},
        ),
    ),
    retrieve=extend_schema(
        operation_id="hub_users_retrieve", responses=responses({200: EndUserSerializer}, *READ)
    ),
    partial_update=extend_schema(
        operation_id="hub_users_update",
        description="Change `displayName`. `externalId` may be sent only unchanged.",
        request=EndUserSerializer,
        responses=responses({200: EndUserSerializer}, *WRITE),
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

    def get_queryset(self) -> Any:
        return selectors.end_user_list(hub=self.hub)

    def list(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response([end_user_repr(u) for u in page])

    def create(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        hub = self.hub
        body = json_object(request.data, allowed={"externalId", "displayName"})
        end_user = services.end_user_create(
            hub=hub, external_id=body.get("externalId"), display_name=body.get("displayName")
        )
        return Response(end_user_repr(end_user), status=status.HTTP_201_CREATED)

    def retrieve(
        self, request: Request, organisation_id: str, hub_id: str, user_id: str
    ) -> Response:
        return Response(end_user_repr(self._end_user()))

    def partial_update(
        self, request: Request, organisation_id: str, hub_id: str, user_id: str
    ) -> Response:
        end_user = services.end_user_update(end_user=self._end_user(), body=request.data)
        return Response(end_user_repr(end_user))

    def destroy(
        self, request: Request, organisation_id: str, hub_id: str, user_id: str
    ) -> Response:
        services.end_user_delete(end_user=self._end_user())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _end_user(self) -> EndUser:
        return selectors.end_user_get(hub=self.hub, end_user_id=self.kwargs["user_id"])


class SessionCreateView(_HubChildMixin):
    """``POST /o/{organisation_id}/hubs/{hub_id}/sessions`` → ``{token, expiresAt}``."""

    @extend_schema(
        operation_id="hub_sessions_create",
        request=SessionRequestSerializer,
        responses=responses({201: SessionSerializer}, *WRITE),
    )
    def post(self, request: Request, organisation_id: str, hub_id: str) -> Response:
        new = services.connect_session_create(hub=self.hub, body=request.data)
        return Response(
            {"token": new.token, "expiresAt": iso(new.expires_at)},
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
    ``invalid_session``.
    """

    authentication_classes = [ConnectSessionAuthentication]
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
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
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


class EmbedSessionView(EmbedView):
    @extend_schema(
        operation_id="embed_session",
        responses=responses({200: EmbedSessionSerializer}, *_EMBED_READ, embed=True),
    )
    def get(self, request: Request, hub_id: str) -> Response:
        session = self.principal.session
        return Response(embed_session_repr(self.hub, self.end_user, session.expires_at))


class EmbedConnectorsView(EmbedView):
    @extend_schema(
        operation_id="embed_connectors",
        responses=responses({200: EmbedConnectorListSerializer}, *_EMBED_READ, embed=True),
    )
    def get(self, request: Request, hub_id: str) -> Response:
        items = [embed_connector_repr(c) for c in selectors.offered_connectors(hub=self.hub)]
        return Response({"items": [item for item in items if item is not None]})


_CONNECTION_FIELDS = frozenset({"connectorId", "authSchemeConfigId", "name", "apiKey", "basicAuth"})


def _form_config(connector: Connector, config_id: str | None) -> AuthSchemeConfig:
    """The named api-key/basic-auth config of the connector, or its first one."""
    configs = list(connector.auth_scheme_configs.order_by("position", "created_at"))
    if config_id is not None:
        named = [c for c in configs if c.config_id == config_id]
        if not named:
            raise not_found("auth scheme config")
        config = named[0]
    else:
        candidates = [c for c in configs if c.type in services.FORM_TYPES] or configs
        if not candidates:
            raise PatchbayError(
                "unsupported_auth_scheme", "The connector has no auth scheme config.", 400
            )
        config = candidates[0]
    if config.type not in (AuthSchemeType.API_KEY, AuthSchemeType.BASIC_AUTH):
        raise PatchbayError(
            "unsupported_auth_scheme",
            "Only api-key and basic-auth connections are made with a form; oauth2 ones are "
            "initialised.",
            400,
            [FieldError("authSchemeConfigId", "Not api-key or basic-auth.")],
        )
    return config


@extend_schema_view(
    get=extend_schema(
        operation_id="embed_connections_list",
        responses=responses({200: EmbedConnectionListSerializer}, *_EMBED_READ, embed=True),
    ),
    post=extend_schema(
        operation_id="embed_connections_create",
        request=EmbedConnectionCreateSerializer,
        responses=responses(
            {201: EmbedConnectionSerializer},
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
        return Response({"items": [embed_connection_repr(c) for c in connections]})

    def post(self, request: Request, hub_id: str) -> Response:
        body = json_object(request.data)
        problems = Problems()
        check_object(body, "", problems, allowed=_CONNECTION_FIELDS)  # reported with the rest
        connector_id = clean_text(body.get("connectorId"), "connectorId", problems, required=True)
        config_id = clean_text(
            body.get("authSchemeConfigId"), "authSchemeConfigId", problems, max_length=100
        )
        name = clean_text(body.get("name"), "name", problems, max_length=200)
        problems.raise_if_any()
        connector = selectors.offered_connector(hub=self.hub, connector_id=connector_id)
        config = _form_config(connector, config_id)
        connection = services.embed_connection_create(
            end_user=self.end_user, connector=connector, config=config, name=name, body=body
        )
        connection.connector = connector
        return Response(embed_connection_repr(connection), status=status.HTTP_201_CREATED)


@extend_schema_view(
    patch=extend_schema(
        operation_id="embed_connections_update",
        request=EmbedConnectionUpdateSerializer,
        responses=responses({200: EmbedConnectionSerializer}, *_EMBED_WRITE, embed=True),
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
        body = json_object(request.data, allowed={"apiKey", "basicAuth"})
        connection = services.embed_connection_secret_replace(connection=connection, body=body)
        return Response(embed_connection_repr(connection))

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
        request=InitialiseRequestSerializer,
        responses=responses({200: EmbedInitialiseResponseSerializer}, *_EMBED_WRITE, embed=True),
    )
    def post(self, request: Request, hub_id: str, connector_id: str) -> Response:
        hub = self.hub
        # The flow reads the connector within the hub's organisation and only among the
        # connectors the hub offers (404 otherwise), in the same query as its config.
        params = oauth.InitialiseParams.from_body(
            organisation=hub.organisation,
            connector_id=connector_id,
            body=request.data,
            hub_id=hub.pk,
            end_user_id=self.end_user.pk,
            connect_session_id=self.principal.session.pk,
        )
        result = oauth.authorisation_initialise(params)
        return Response(
            {"url": result.url, "authorisationId": str(result.authorisation_request.pk)}
        )


class EmbedAuthorisationView(EmbedView):
    @extend_schema(
        operation_id="embed_authorisation_status",
        responses=responses({200: AuthorisationStatusSerializer}, *_EMBED_READ, embed=True),
    )
    def get(self, request: Request, hub_id: str, authorisation_id: str) -> Response:
        authorisation = selectors.end_user_authorisation_get(
            hub=self.hub, end_user=self.end_user, authorisation_id=authorisation_id
        )
        return Response(authorisation_status_repr(authorisation))
