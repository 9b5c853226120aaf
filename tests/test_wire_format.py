"""Timestamps on the wire look alike everywhere: ISO 8601 UTC with a ``Z`` suffix."""

from __future__ import annotations

from datetime import UTC, datetime

from connections.oauth.tokens import TokenSet


def test_token_data_stores_its_expiry_in_the_api_timestamp_format():
    token = TokenSet(
        access_token="at-1",
        token_type="Bearer",
        expires_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        refresh_token="rt-1",
        scopes=["read"],
    )
    data = token.as_credential_data()
    assert data["expiresAt"] == "2030-01-02T03:04:05Z"
    assert data["refreshToken"] == "rt-1"


def test_a_token_without_expiry_stores_null_and_no_refresh_token_key_when_absent():
    token = TokenSet(
        access_token="at", token_type="Bearer", expires_at=None, refresh_token=None, scopes=[]
    )
    data = token.as_credential_data()
    assert data["expiresAt"] is None
    assert "refreshToken" not in data
