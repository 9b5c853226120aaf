"""The oauth2-client credentials a config makes from a grant's ``clientId`` +
``clientSecret`` (SPEC §4): the config owns them (``AuthSchemeConfig.grant_clients``).

Writing the same client again updates the credential it made (one credential per grant,
however often a client re-sends its connector); a new client id makes a new one; and a
credential the config no longer names is deleted unless something else still uses it (a
connection whose token it refreshes, another config), so none is left behind.
"""

from __future__ import annotations

from typing import Any

from connectors.models import AuthSchemeConfig
from core.db import is_referenced
from core.errors import PatchbayError
from core.text import parse_uuid
from credentials.models import Credential, CredentialType
from credentials.services import credential_delete, oauth2_client_credential_create
from organisations.models import Organisation


def grant_credential_ids(settings: dict[str, Any]) -> set[str]:
    grants = settings.get("grant") if isinstance(settings.get("grant"), dict) else {}
    return {
        str(entry["credentialId"])
        for entry in (grants or {}).values()
        if isinstance(entry, dict) and entry.get("credentialId")
    }


def grant_client_write(
    *,
    organisation: Organisation,
    existing: AuthSchemeConfig | None,
    owned: set[str],
    grant: str,
    client_id: str,
    client_secret: str,
    token_url: str,
    scopes: list[str],
    name: str,
) -> Credential:
    """The oauth2-client credential for a grant written with ``clientId`` + ``clientSecret``:
    the one this config made for that grant before, updated, when it holds the same client
    id (so re-sending a grant makes no second credential); otherwise a new one."""
    entry = ((existing.settings.get("grant") or {}).get(grant) if existing else None) or {}
    current_id = str(entry.get("credentialId") or "") if isinstance(entry, dict) else ""
    current_pk = parse_uuid(current_id) if current_id in owned else None
    current = (
        Credential.objects.select_for_update()
        .filter(organisation=organisation, pk=current_pk, type=CredentialType.OAUTH2_CLIENT)
        .first()
        if current_pk is not None
        else None
    )
    data = current.data if current is not None and isinstance(current.data, dict) else None
    if current is None or data is None or data.get("clientId") != client_id:
        return oauth2_client_credential_create(
            organisation=organisation,
            name=name,
            client_id=client_id,
            client_secret=client_secret,
            token_url=token_url,
            scopes=scopes,
        )
    updated: dict[str, Any] = {**data, "clientSecret": client_secret}
    for key, value in (("tokenUrl", token_url), ("scopes", list(scopes))):
        if value:
            updated[key] = value
        else:
            updated.pop(key, None)
    current.data = updated
    current.save()
    return current


def release_grant_clients(organisation: Organisation, credential_ids: set[str]) -> None:
    """Delete the grant clients a config made and no longer names, unless something still
    uses them (another config, or a connection whose token they refresh): no orphans."""
    pks = [pk for pk in (parse_uuid(i) for i in credential_ids) if pk is not None]
    for credential in Credential.objects.filter(organisation=organisation, pk__in=pks):
        if is_referenced(credential):  # e.g. the client a connection's token refreshes with
            continue
        try:
            credential_delete(credential=credential)
        except PatchbayError as exc:
            if exc.code != "credential_in_use":
                raise
