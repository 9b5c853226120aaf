"""Reads of connectors. Every read is scoped to one organisation and costs a fixed
number of queries (auth scheme configs are prefetched)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from connectors.models import AuthSchemeConfig, Connector
from core.errors import not_found
from core.text import parse_uuid
from credentials.models import Credential
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


def credential_named_by_config(sender: Any, *, credential: Credential, **kwargs: Any) -> str | None:
    """Answers :data:`credentials.signals.credential_uses`: a config of the credential's
    organisation names it (a grant's client, an mTLS certificate, OAuth 1.0a)."""
    wanted = str(credential.pk)
    configs = AuthSchemeConfig.objects.filter(
        organisation_id=credential.organisation_id, type__in=["oauth2", "oauth1"]
    ).values_list("settings", flat=True)
    if any(wanted in _referenced_ids(settings) for settings in configs):
        return "an auth scheme config"
    return None


def _referenced_ids(settings: Any) -> set[str]:
    if not isinstance(settings, dict):
        return set()
    ids = {settings.get("mtlsCredentialId"), settings.get("credentialId")}
    grant = settings.get("grant")
    if isinstance(grant, dict):
        ids |= {item.get("credentialId") for item in grant.values() if isinstance(item, dict)}
    return {str(i) for i in ids if i}


def connector_lock(*, connector: Connector) -> None:
    """Lock ``connector``'s row until the end of the caller's transaction.

    Every write of its auth scheme configs takes this lock first, and so does every write
    of a connection's links to them (connections.services): a connection is never linked
    to a config that a concurrent write is replacing, changing or deleting — whichever
    comes second reads what the first committed. (SQLite, which has no row locks,
    serialises whole transactions anyway.)
    """
    Connector.objects.select_for_update().filter(pk=connector.pk).values_list("pk").first()
