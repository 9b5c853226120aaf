"""Reads of the loaded demo: the values the README walkthrough names (``manage.py demo``
prints them, the landing page shows them)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from django.conf import settings

from connectors.models import AuthSchemeConfig
from demo.services import CONNECTOR_NAME, HUB_NAME, ORGANISATION_NAME, Demo, key_file
from embed.models import Hub

# The README walkthrough's `export` line, in its order, with what each one is.
WALKTHROUGH = {
    "PB": "Patchbay's URL",
    "KEY": "the demo API key",
    "ORG": "organisation id",
    "CONNECTOR": "connector id (Demo Provider)",
    "CLIENT": "OAuth client credential id",
    "CLIENT_ID": "the demo provider's OAuth client id",
    "HUB": "hub id (Demo Hub, embedded by the demo host page)",
}


@dataclass(frozen=True)
class Walkthrough:
    """The walkthrough's values; ``KEY`` only where it may be shown (never on a web page)."""

    values: dict[str, str]
    host_page: str | None

    def export_line(self) -> str:
        """``export NAME=value ...``, quoted for a POSIX shell, ready to paste."""
        return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in self.values.items())


def _values(
    *, org: str, connector: str, client: str, client_id: str, key: str, hub: str
) -> dict[str, str]:
    values = {
        "PB": str(settings.PATCHBAY_PUBLIC_URL),
        "KEY": key,
        "ORG": org,
        "CONNECTOR": connector,
        "CLIENT": client,
        "CLIENT_ID": client_id,
        "HUB": hub,
    }
    assert list(values) == list(WALKTHROUGH)
    return values


def walkthrough_of(demo: Demo) -> Walkthrough:
    """The values of a demo just loaded, with its API key in plain text."""
    return Walkthrough(
        values=_values(
            org=str(demo.organisation.pk),
            connector=str(demo.connector.pk),
            client=str(demo.client_credential.pk),
            client_id=demo.client_id,
            key=demo.api_key,
            hub=str(demo.hub.pk),
        ),
        host_page=f"{demo.host_origin}/",
    )


def walkthrough_shown() -> Walkthrough | None:
    """The loaded demo's values for a page anyone on the network may open: ``KEY`` says
    where the key is, never the key. None when the demo is not loaded."""
    config = (
        AuthSchemeConfig.objects.filter(
            config_id="oauth2",
            connector__name=CONNECTOR_NAME,
            organisation__name=ORGANISATION_NAME,
        )
        .order_by("organisation__created_at")
        .first()
    )
    if config is None:
        return None
    grant = (config.settings.get("grant") or {}).get("authorizationCode") or {}
    hub = Hub.objects.filter(organisation_id=config.organisation_id, name=HUB_NAME).first()
    origins = hub.allowed_origins if hub is not None else []
    return Walkthrough(
        values=_values(
            org=str(config.organisation_id),
            connector=str(config.connector_id),
            client=str(grant.get("credentialId") or ""),
            client_id=str(grant.get("clientId") or ""),
            key=f"(printed by make run, kept in {key_file().name})",
            hub=str(hub.pk) if hub is not None else "",
        ),
        host_page=f"{origins[0]}/" if origins else None,
    )
