"""Config writes and connection writes are serialised on the connector's row (PostgreSQL):
a connection is never linked to a config that a concurrent write is changing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection as db_connection
from django.db import transaction

from connections.models import Connection
from connections.services import CredentialRef, connection_create
from connectors.models import AuthSchemeConfig
from connectors.schemes.base import CleanScheme
from connectors.services import auth_scheme_config_put
from core.errors import PatchbayError
from tests.connections import factories as f

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def in_thread(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = target()
        except Exception as exc:  # the test reads it
            outcome["error"] = exc
        finally:
            db_connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_connection_create_waits_for_a_config_being_changed_and_sees_the_change(alice):
    connector, config = f.oauth2_connector(alice.organisation)
    token = f.token_credential(alice.organisation)
    changed, go = threading.Event(), threading.Event()

    def change_the_config_to_api_key() -> None:
        with transaction.atomic():
            auth_scheme_config_put(
                connector=connector,
                scheme=CleanScheme(
                    config_id="oauth2",
                    type="api-key",
                    description="",
                    settings={"name": "X-Key", "in": "header"},
                ),
            )
            changed.set()
            go.wait(10)  # the change is made, not yet committed

    def link_the_token() -> Connection:
        changed.wait(10)
        return connection_create(
            organisation=alice.organisation,
            connector_id=str(connector.pk),
            name="Main",
            credentials=[CredentialRef("oauth2", str(token.pk))],
        )

    writer, _ = in_thread(change_the_config_to_api_key)
    linker, linked = in_thread(link_the_token)
    linker.join(1.0)
    # The link waits on the connector's row, held by the config write.
    assert linker.is_alive(), linked
    go.set()
    writer.join(10)
    linker.join(10)
    # Once the change is committed, the link is checked against it: an oauth2-token cannot
    # authenticate through an api-key config.
    error = linked.get("error")
    assert isinstance(error, PatchbayError), linked
    assert error.code == "credential_type_mismatch"
    assert not Connection.objects.exists()
    assert AuthSchemeConfig.objects.get(pk=config.pk).type == "api-key"
