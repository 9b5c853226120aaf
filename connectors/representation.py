"""The API shapes of connectors and auth scheme configs (SPEC §4)."""

from __future__ import annotations

import copy
from typing import Any

from connectors.models import AuthSchemeConfig, Connector
from connectors.schemes import TYPED_KEYS, validation_messages
from core.time import iso


def auth_scheme_config_repr(asc: AuthSchemeConfig) -> dict[str, Any]:
    """``{id, type, description, validationMessages, <typed key>: {...}}``.

    ``id`` is the client-chosen ``config_id``. Write-only secrets are never in
    ``settings`` (they live in ``asc.secrets``) and so never here; ``clientSecret``
    of a grant is stripped defensively all the same.
    """
    settings = copy.deepcopy(asc.settings or {})
    grant = settings.get("grant")
    if isinstance(grant, dict):
        for item in grant.values():
            if isinstance(item, dict):
                item.pop("clientSecret", None)
    settings.pop("consumerSecret", None)
    return {
        "id": asc.config_id,
        "type": asc.type,
        "description": asc.description,
        "validationMessages": validation_messages(asc.type, settings),
        TYPED_KEYS.get(asc.type, asc.type): settings,
    }


def connector_repr(connector: Connector) -> dict[str, Any]:
    """``{id, name, baseUrl, authSchemeConfigs, createdAt, updatedAt}``.

    Prefetch ``auth_scheme_configs`` (see ``connectors.selectors``) to keep the
    query count fixed.
    """
    return {
        "id": str(connector.pk),
        "name": connector.name,
        "baseUrl": connector.base_url,
        "authSchemeConfigs": [
            auth_scheme_config_repr(asc) for asc in connector.auth_scheme_configs.all()
        ],
        "createdAt": iso(connector.created_at),
        "updatedAt": iso(connector.updated_at),
    }
