"""RFC 7009 revocation when an OAuth 2.0 connection is deleted, against the real provider."""

from __future__ import annotations

import json
import logging

import pytest
import requests
from django.db import transaction
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from requests.structures import CaseInsensitiveDict

from connections.models import Connection, ConnectionCredential
from connections.services import connection_delete
from credentials.models import Credential
from tests.lifecycle.conftest import events, token_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quiet_provider(caplog):
    caplog.set_level(logging.INFO, logger="oauth2_provider")
    caplog.set_level(logging.INFO, logger="urllib3")


def delete(actor, connection):
    return actor.client.delete(actor.url(f"connections/{connection.pk}"))


def set_config(connection, **changes):
    link = ConnectionCredential.objects.get(connection=connection)
    config = link.auth_scheme_config
    config.settings = {**config.settings, **changes}
    config.save()


def test_deleting_a_connection_revokes_its_tokens_at_the_provider(alice, provider, connected, wire):
    data = token_of(connected).data
    response = delete(alice, connected)
    assert response.status_code == 204
    sent = wire.to(provider.revoke_url)
    assert [s.form["token_type_hint"] for s in sent] == [["refresh_token"], ["access_token"]]
    assert [s.form["token"] for s in sent] == [[data["refreshToken"]], [data["accessToken"]]]
    assert get_refresh_token_model().objects.get(token=data["refreshToken"]).revoked is not None
    assert not get_access_token_model().objects.filter(token=data["accessToken"]).exists()
    assert provider.me(data["accessToken"]).status_code in (401, 403)
    assert not Connection.objects.exists()
    assert not Credential.objects.filter(type="oauth2-token").exists()
    assert events("connection.deleted") == [
        {
            "connectionId": str(connected.pk),
            "connectorId": str(connected.connector_id),
            "status": "deleted",
            "previousStatus": "active",
        }
    ]
    assert events("connection.revocation_failed") == []


def test_the_deleted_event_says_deleted_whatever_the_status_was(alice, connected, wire):
    Connection.objects.filter(pk=connected.pk).update(status="needs_reauth")
    assert delete(alice, connected).status_code == 204
    [event] = events("connection.deleted")
    assert (event["status"], event["previousStatus"]) == ("deleted", "needs_reauth")


def test_client_secret_post_is_used_when_configured(alice, provider, connected, wire):
    set_config(connected, tokenAuthMethod="client_secret_post")
    refresh = token_of(connected).data["refreshToken"]
    assert delete(alice, connected).status_code == 204
    first = wire.to(provider.revoke_url)[0]
    assert first.form["client_id"] == [provider.client_id]
    assert get_refresh_token_model().objects.get(token=refresh).revoked is not None


def test_a_failed_revocation_is_recorded_and_the_deletion_still_happens(
    alice, provider, connected, wire, assert_no_secrets, caplog
):
    data = token_of(connected).data

    def unavailable(adapter, request, **kwargs):
        response = requests.Response()
        response.status_code = 503
        response._content = json.dumps({"error": "temporarily_unavailable"}).encode()
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.request = request
        return response

    wire.fake = unavailable
    response = delete(alice, connected)
    assert response.status_code == 204
    assert not Connection.objects.exists()
    assert not Credential.objects.filter(type="oauth2-token").exists()
    assert len(wire.to(provider.revoke_url)) == 2
    [failed] = events("connection.revocation_failed")
    assert failed["connectionId"] == str(connected.pk)
    assert [(x["tokenTypeHint"], x["error"]) for x in failed["failures"]] == [
        ("refresh_token", "temporarily_unavailable"),
        ("access_token", "temporarily_unavailable"),
    ]
    assert any("revocation failed" in r.getMessage() for r in caplog.records)
    assert_no_secrets(
        data["refreshToken"], data["accessToken"], provider.client_secret, texts=[str(failed)]
    )


def test_an_unreachable_revocation_endpoint_does_not_stop_the_deletion(alice, connected, wire):
    set_config(connected, revokeUrl="http://127.0.0.1:9/revoke")
    assert delete(alice, connected).status_code == 204
    assert not Connection.objects.exists()
    [failed] = events("connection.revocation_failed")
    # The event is the tenant's: one word for any network failure (no port-scan oracle).
    assert {x["error"] for x in failed["failures"]} == {"unreachable"}


def test_no_revoke_url_no_call(alice, connected, wire):
    set_config(connected, revokeUrl="")
    assert delete(alice, connected).status_code == 204
    assert wire.sent == []
    assert len(events("connection.deleted")) == 1


def test_a_token_another_connection_still_uses_is_not_revoked(alice, provider, connected, wire):
    link = ConnectionCredential.objects.get(connection=connected)
    twin = Connection.objects.create(
        organisation=alice.organisation, connector=connected.connector, name="Twin"
    )
    ConnectionCredential.objects.create(
        connection=twin, auth_scheme_config=link.auth_scheme_config, credential=link.credential
    )
    assert delete(alice, connected).status_code == 204
    assert wire.sent == []
    assert provider.me(link.credential.data["accessToken"]).status_code == 200


def test_revocation_waits_for_the_surrounding_transaction(alice, provider, connected, wire):
    with transaction.atomic():
        connection_delete(connection=connected)
        assert wire.sent == []  # never over the network while a transaction is open
    assert len(wire.to(provider.revoke_url)) == 2


def test_outsiders_cannot_delete_or_trigger_revocation(alice, charlie, connected, wire):
    assert charlie.client.delete(alice.url(f"connections/{connected.pk}")).status_code == 404
    assert charlie.client.delete(charlie.url(f"connections/{connected.pk}")).status_code == 404
    assert Connection.objects.filter(pk=connected.pk).exists()
    assert wire.sent == []
