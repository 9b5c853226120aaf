from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from connections.models import AuthorisationRequest, Connection, ConnectionStatus
from organisations.models import Organisation
from tests.admin.conftest import World, make_credential


def test_mark_for_reauthorisation(admin_client: Client, world: World) -> None:
    response = admin_client.post(
        reverse("admin:connections_connection_changelist"),
        {"action": "mark_for_reauthorisation", "_selected_action": [str(world.connection.pk)]},
    )
    assert response.status_code == 302
    world.connection.refresh_from_db()
    assert world.connection.status == ConnectionStatus.NEEDS_REAUTH


def test_the_inline_refuses_a_credential_of_another_organisation(
    admin_client: Client, world: World
) -> None:
    charlie = Organisation.objects.create(name="Charlie Corp")
    foreign = make_credential(charlie, "oauth2-token", {"accessToken": "c"}, name="charlie token")
    link = world.connection.connection_credentials.get()
    prefix = "connection_credentials"
    response = admin_client.post(
        reverse("admin:connections_connection_change", args=[world.connection.pk]),
        {
            "name": world.connection.name,
            "base_url": "",
            "connection_template_id": "",
            "status": "active",
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "1",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-id": str(link.pk),
            f"{prefix}-0-connection": str(world.connection.pk),
            f"{prefix}-0-position": "0",
            f"{prefix}-0-auth_scheme_config": str(world.oauth2_config.pk),
            f"{prefix}-0-credential": str(foreign.pk),
        },
    )
    assert response.status_code == 200
    assert "Not a credential of this connection" in response.content.decode()
    link.refresh_from_db()
    assert link.credential_id == world.credentials["oauth2-token"].pk


def test_a_connection_cannot_use_another_organisations_connector(
    admin_client: Client, world: World
) -> None:
    charlie = Organisation.objects.create(name="Charlie Corp")
    response = admin_client.post(
        reverse("admin:connections_connection_add"),
        {
            "organisation": str(charlie.pk),
            "connector": str(world.connector.pk),
            "name": "sneaky",
            "base_url": "",
            "connection_template_id": "",
            "status": "active",
            "connection_credentials-TOTAL_FORMS": "0",
            "connection_credentials-INITIAL_FORMS": "0",
            "connection_credentials-MIN_NUM_FORMS": "0",
            "connection_credentials-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert not Connection.objects.filter(name="sneaky").exists()


def test_authorisation_requests_are_read_only(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    request = world.authorisation_request
    change = reverse("admin:connections_authorisationrequest_change", args=[request.pk])
    assert (
        admin_client.get(reverse("admin:connections_authorisationrequest_add")).status_code == 403
    )
    page = admin_client.get(change)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html
    assert admin_client.post(change, {"client_id": "changed"}).status_code == 403
    request.refresh_from_db()
    assert request.client_id == "alice-client"

    # Deleting (cleanup) is allowed.
    delete = reverse("admin:connections_authorisationrequest_delete", args=[request.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not AuthorisationRequest.objects.filter(pk=request.pk).exists()


def test_marking_for_reauthorisation_is_announced_to_webhooks(
    admin_client: Client, world: World
) -> None:
    from webhooks.models import Event

    admin_client.post(
        reverse("admin:connections_connection_changelist"),
        {"action": "mark_for_reauthorisation", "_selected_action": [str(world.connection.pk)]},
    )
    event = Event.objects.get(type="connection.needs_reauth")
    assert event.data["connectionId"] == str(world.connection.pk)
    assert event.data["status"] == "needs_reauth"
