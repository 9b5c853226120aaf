"""What a caller may know of a connection's OAuth 2.0 token (SPEC §5.3): the access token,
its type, expiry and scopes — never the refresh token — and which of the connection's
credentials holds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from connections.models import Connection, ConnectionCredential
from core.errors import PatchbayError
from credentials.models import Credential, CredentialType, token_expiry


@dataclass(frozen=True)
class AccessToken:
    """What a caller may know of a connection's token: never the refresh token."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: datetime | None
    scopes: list[str]

    @classmethod
    def from_credential(cls, credential: Credential) -> AccessToken:
        """The token an ``oauth2-token`` credential holds, or a 400 when it holds none."""
        data = credential.data if isinstance(credential.data, dict) else {}
        access_token = data.get("accessToken")
        if not isinstance(access_token, str) or not access_token:
            raise PatchbayError(
                "no_oauth2_credential",
                "The connection's OAuth 2.0 credential holds no token.",
                400,
            )
        scopes = data.get("scopes")
        return cls(
            access_token=access_token,
            token_type=str(data.get("tokenType") or "Bearer"),
            expires_at=token_expiry(CredentialType.OAUTH2_TOKEN, data),
            scopes=[s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else [],
        )


def token_link(connection: Connection) -> ConnectionCredential:
    """The connection's OAuth 2.0 token credential (first in order), or a 400.

    Uses the links :mod:`connections.selectors` prefetched when they are there (no query).
    """
    prefetched = getattr(connection, "_prefetched_objects_cache", {}).get("connection_credentials")
    if prefetched is not None:
        links = sorted(
            (x for x in prefetched if x.credential.type == CredentialType.OAUTH2_TOKEN),
            key=lambda x: (x.position, str(x.pk)),
        )
        if links:
            return links[0]
    link = (
        ConnectionCredential.objects.filter(
            connection=connection, credential__type=CredentialType.OAUTH2_TOKEN
        )
        .select_related("credential", "auth_scheme_config", "client_credential")
        .order_by("position", "id")
        .first()
    )
    if link is None:
        raise PatchbayError(
            "no_oauth2_credential", "The connection has no OAuth 2.0 token credential.", 400
        )
    return link
