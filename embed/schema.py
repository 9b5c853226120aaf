"""OpenAPI description of the embed API's two bearers (drf-spectacular): a minted connect
session token and a company-signed end-user token."""

from __future__ import annotations

from core.openapi import BearerScheme


class ConnectSessionAuthenticationScheme(BearerScheme):
    target_class = "embed.authentication.ConnectSessionAuthentication"
    name = "connectSession"
    description = (
        "A connect session token, `Authorization: Bearer pbs_…`, minted by "
        "`POST /api/v2/o/{organisation_id}/hubs/{hub_id}/sessions`. Embed API only."
    )


class EndUserTokenAuthenticationScheme(BearerScheme):
    target_class = "embed.authentication.EndUserTokenAuthentication"
    name = "endUserToken"
    bearer_format = "JWT"
    description = (
        "A company-signed end-user token (SPEC §11): a JWT signed with a key in the hub's "
        "`signingKeys` (RS/PS 256-512, ES256 or EdDSA), with `sub` (the end user's "
        "externalId), `aud` (the hub id), `exp` (at most 15 minutes ahead), `jti` (single "
        "use) and optionally `name`. One use makes a connect session; "
        "`POST /api/v2/embed/{hub_id}/session` answers its token. Embed API only."
    )
