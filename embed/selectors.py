"""Reads of hubs, end users and end users' connections. Every read is scoped by owner."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from connections.models import AuthorisationRequest, Connection
from connections.oauth.initialise import state_hash
from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from core.errors import FieldError, PatchbayError, not_found
from core.text import parse_uuid
from embed.models import EndUser, Hub
from organisations.models import Organisation


def hub_list(*, organisation: Organisation) -> QuerySet[Hub]:
    """The organisation's hubs with the ids of their connectors prefetched."""
    return Hub.objects.filter(organisation=organisation).prefetch_related(
        Prefetch("connectors", queryset=Connector.objects.only("id").order_by("name"))
    )


def hub_get(*, organisation: Organisation, hub_id: object) -> Hub:
    """The hub with this id in ``organisation``, else 404 (malformed ids included)."""
    pk = parse_uuid(hub_id)
    hub = hub_list(organisation=organisation).filter(pk=pk).first() if pk else None
    if hub is None:
        raise not_found("hub")
    return hub


def hub_by_id(*, hub_id: object) -> Hub | None:
    """The hub with this id, with its organisation, whatever organisation it is of: for a
    caller that the hub itself authenticates (a token signed with its ``signingKeys``)."""
    pk = parse_uuid(hub_id)
    return Hub.objects.select_related("organisation").filter(pk=pk).first() if pk else None


def end_user_list(*, hub: Hub) -> QuerySet[EndUser]:
    return EndUser.objects.filter(hub=hub, organisation_id=hub.organisation_id)


def end_user_get(*, hub: Hub, end_user_id: object) -> EndUser:
    pk = parse_uuid(end_user_id)
    end_user = end_user_list(hub=hub).filter(pk=pk).first() if pk else None
    if end_user is None:
        raise not_found("end user")
    return end_user


def offered_connectors(*, hub: Hub) -> QuerySet[Connector]:
    """The hub's connectors with their auth scheme configs, in two queries."""
    configs = AuthSchemeConfig.objects.order_by("position", "created_at")
    return (
        hub.connectors.filter(organisation_id=hub.organisation_id)
        .order_by("name")
        .prefetch_related(Prefetch("auth_scheme_configs", queryset=configs))
    )


def offered_connector(*, hub: Hub, connector_id: object) -> Connector:
    """A connector the hub offers, else 404 (one query)."""
    pk = parse_uuid(connector_id)
    connector = (
        hub.connectors.filter(organisation_id=hub.organisation_id, pk=pk).first() if pk else None
    )
    if connector is None:
        raise not_found("connector")
    return connector


def form_config(*, connector: Connector, config_id: str | None) -> AuthSchemeConfig:
    """The named api-key/basic-auth config of the connector (404 if it has none of that
    id), or its first one; an oauth2 config is a 400 ``unsupported_auth_scheme``."""
    configs = list(connector.auth_scheme_configs.order_by("position", "created_at"))
    forms = (AuthSchemeType.API_KEY, AuthSchemeType.BASIC_AUTH)
    if config_id is not None:
        named = [c for c in configs if c.config_id == config_id]
        if not named:
            raise not_found("auth scheme config")
        config = named[0]
    else:
        candidates = [c for c in configs if c.type in forms] or configs
        if not candidates:
            raise PatchbayError(
                "unsupported_auth_scheme", "The connector has no auth scheme config.", 400
            )
        config = candidates[0]
    if config.type not in forms:
        raise PatchbayError(
            "unsupported_auth_scheme",
            "Only api-key and basic-auth connections are made with a form; oauth2 ones are "
            "initialised.",
            400,
            [FieldError("authSchemeConfigId", "Not api-key or basic-auth.")],
        )
    return config


def end_user_connections(*, end_user: EndUser) -> QuerySet[Connection]:
    """The end user's connections (with their connector), newest first."""
    return (
        Connection.objects.filter(end_user=end_user, organisation_id=end_user.organisation_id)
        .select_related("connector")
        .order_by("-created_at", "id")
    )


def end_user_connection_get(*, end_user: EndUser, connection_id: object) -> Connection:
    """One of the end user's connections, else 404 (another end user's included)."""
    pk = parse_uuid(connection_id)
    connection = end_user_connections(end_user=end_user).filter(pk=pk).first() if pk else None
    if connection is None:
        raise not_found("connection")
    return connection


def end_user_authorisation_get(
    *, hub: Hub, end_user: EndUser, authorisation_id: object
) -> AuthorisationRequest:
    """An authorisation request the end user started in this hub, else 404."""
    pk = parse_uuid(authorisation_id)
    request = (
        AuthorisationRequest.objects.filter(pk=pk, hub=hub, end_user=end_user)
        .only("id", "status", "result_connection_id", "error_code", "expires_at", "used_at")
        .first()
        if pk
        else None
    )
    if request is None:
        raise not_found("authorisation")
    return request


def embed_authorisation_for_state(state: str) -> AuthorisationRequest | None:
    """The embed authorisation request of a (well-formed, already consumed) state, if any."""
    return (
        AuthorisationRequest.objects.filter(state_hash=state_hash(state), hub__isnull=False)
        .only(
            "id", "hub_id", "status", "result_connection_id", "error_code", "expires_at", "used_at"
        )
        .first()
    )
