"""Embed scenarios: the hub-scoped initialise (seed 002) beside the no-op endpoint.

Loaded by ``bench/run.py`` (``bench/scenarios_*.py``). The factory runs after the seed,
with Django set up, so it creates its hub, end user and connect session with the ORM and
the services (the API is what is measured).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bench.run import Request, Scenario, scenario


@scenario
def embed_scenarios(ctx: dict[str, Any]) -> list[Scenario]:
    from django.utils import timezone

    from connectors.models import Connector
    from embed.models import ConnectSession, Hub
    from embed.services import connect_session_create

    connector = Connector.objects.get(pk=ctx["connector_id"])
    hub = Hub.objects.create(
        organisation_id=ctx["organisation_id"],
        name="Bench hub",
        allowed_origins=["https://app.example.com"],
    )
    hub.connectors.set([connector])
    new = connect_session_create(hub=hub, external_id="bench-user")
    # Outlive a long benchmark run (sessions last 15 minutes).
    ConnectSession.objects.filter(pk=new.session.pk).update(
        expires_at=timezone.now() + timedelta(hours=2)
    )
    auth = {"Authorization": f"Bearer {new.token}"}
    body = json.dumps(
        {
            "authorizeUrl": "https://provider.example/authorize",
            "clientId": "bench-client",
            "credential": {
                "id": ctx["client_credential_id"],
                "organisationId": ctx["organisation_id"],
            },
            "scopes": ["read", "write"],
        }
    ).encode()
    base = f"/api/v2/embed/{hub.pk}"
    return [
        (
            "embed hub-scoped initialise",
            lambda: Request(
                "POST",
                f"{base}/connector/{ctx['connector_id']}/oauth2/initialise",
                body=body,
                headers={**auth, "Content-Type": "application/json"},
            ),
        ),
        ("embed GET connectors", lambda: Request("GET", f"{base}/connectors", headers=auth)),
    ]
