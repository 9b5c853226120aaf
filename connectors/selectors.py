"""Reads of connectors. Every read is scoped to one organisation and costs a fixed
number of queries (auth scheme configs are prefetched)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from connectors.models import AuthSchemeConfig, Connector
from core.errors import not_found
from core.text import parse_uuid
from organisations.models import Organisation


def connector_list(*, organisation: Organisation) -> QuerySet[Connector]:
    return Connector.objects.filter(organisation=organisation).prefetch_related(
        Prefetch(
            "auth_scheme_configs",
            queryset=AuthSchemeConfig.objects.order_by("position", "created_at"),
        )
    )


def connector_get(*, organisation: Organisation, connector_id: object) -> Connector:
    """The organisation's connector with this id, else 404 (malformed ids included)."""
    pk = parse_uuid(connector_id)
    connector = (
        None if pk is None else connector_list(organisation=organisation).filter(pk=pk).first()
    )
    if connector is None:
        raise not_found("connector")
    return connector


def auth_scheme_config_get(*, connector: Connector, config_id: str) -> AuthSchemeConfig:
    config = AuthSchemeConfig.objects.filter(connector=connector, config_id=config_id).first()
    if config is None:
        raise not_found("auth scheme config")
    return config
