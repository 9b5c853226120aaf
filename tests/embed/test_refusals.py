"""Refusals of connect-session authentication leave a trace (``core.logs.refusal``) with the
session, hub and organisation ids, never the token."""

from __future__ import annotations

from datetime import timedelta
from logging import INFO, WARNING

import pytest
from django.utils import timezone

from embed.models import ConnectSession
from embed.services import connect_session_revoke
from tests.connections import factories as f
from tests.embed.conftest import embed_client, make_hub


def test_a_missing_session_is_info(hub, refusals):
    embed_client(None).get(hub.url("session"))
    refusals.one(INFO, "invalid_session", "no_bearer")


@pytest.mark.parametrize(
    ("token", "reason"),
    [("pbs_abc def-ghijkl", "malformed_token"), ("pbs_" + "Q" * 43, "unknown_token")],
)
def test_a_bad_session_token_is_a_warning(hub, refusals, token, reason):
    embed_client(token).get(hub.url("session"))
    assert refusals.one(WARNING, "invalid_session", reason).name == "embed.authentication"
    refusals.none_hold(token)


def test_an_expired_session_is_info_and_a_revoked_one_a_warning(hub, session_token, refusals):
    session = ConnectSession.objects.get()
    ids = {"session_id": session.pk, "hub_id": hub.id, "organisation_id": hub.owner.org_id}
    ConnectSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    embed_client(session_token).get(hub.url("session"))
    refusals.one(INFO, "invalid_session", "expired_session", **ids)
    ConnectSession.objects.update(expires_at=timezone.now() + timedelta(minutes=5))
    connect_session_revoke(session=session)
    embed_client(session_token).get(hub.url("session"))
    refusals.one(WARNING, "invalid_session", "revoked_session", **ids)
    refusals.none_hold(session_token, hub.owner.key)


def test_a_session_used_on_another_hub_is_a_warning(charlie, hub, session_token, refusals):
    other = make_hub(
        charlie,
        authorize_url=f.AUTHORIZE_URL,
        token_url=f.TOKEN_URL,
        client_id="c",
        client_secret="s-charlie-secret-0123456",
        name="Charlie hub",
    )
    response = embed_client(session_token).get(f"/api/v2/embed/{other.id}/connectors")
    assert response.status_code == 404
    session = ConnectSession.objects.get(hub=hub.hub)
    ids = {"session_id": session.pk, "hub_id": hub.id, "organisation_id": hub.owner.org_id}
    refusals.one(WARNING, "not_found", "another_hub", requested_hub_id=other.id, **ids)
    refusals.none_hold(session_token)
