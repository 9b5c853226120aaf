"""``verify: true`` on the widget's API-key and basic-auth forms (SPEC §9.2).

The secret the end user typed is checked with the connector's ``verification`` request
before anything is stored, through the same code as ``POST .../connections/{id}/verify``
(:func:`connections.verification.links_verify`, the proxy's machinery): refused → 400
``credential_invalid`` that names the status, never the upstream's body, and nothing is
stored, so the panel can tell the end user at once that the key is wrong.
"""

from __future__ import annotations

import logging
from typing import Any

from connections.models import Connection
from connections.verification import VerificationResult, links_verify
from connectors.models import AuthSchemeConfig, Connector
from core.errors import FieldError, PatchbayError
from core.logs import INFO, refusal
from credentials.models import Credential
from credentials.services import credential_data_clean
from organisations.models import Organisation

logger = logging.getLogger(__name__)


def form_verify(
    *,
    organisation: Organisation,
    connector: Connector,
    config: AuthSchemeConfig,
    credential_type: str,
    data: dict[str, Any],
    key: str,
    base_url: str = "",
) -> VerificationResult:
    """Verify a form's secret (``data``, already cleaned for its type) unsaved."""
    unsaved = Credential(organisation=organisation, type=credential_type, data=data)
    result = links_verify(
        connector=connector, base_url=base_url or connector.base_url, links=[(config, unsaved)]
    )
    if not result.valid:
        refusal(
            logger,
            "credential_invalid",
            level=INFO,
            reason="form",
            status=result.status,
            connector_id=connector.pk,
            organisation_id=organisation.pk,
        )
        what = "this API key" if key == "apiKey" else "this username and password"
        message = f"{connector.name} did not accept {what} (HTTP {result.status}). Check it."
        raise PatchbayError("credential_invalid", message, 400, [FieldError(key, message)])
    return result


def verification_store(connection: Connection, result: VerificationResult) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        verified_at=result.checked_at,
        verification_status=result.status,
        verification_valid=result.valid,
    )


def reprefix(error: PatchbayError, key: str) -> PatchbayError:
    """A credential service's ``data.string.value`` → the embed body's ``apiKey``."""
    inner = "data.string.value" if key == "apiKey" else "data.basicAuth"
    fields = []
    for f in error.fields:
        name = f.field.replace(inner, key) if key == "basicAuth" else key
        fields.append(FieldError(name if f.field.startswith(inner) else f.field, f.message))
    message = f"{fields[0].field}: {fields[0].message}" if len(fields) == 1 else error.message
    return PatchbayError(error.code, message, error.status, fields)


def verified(
    organisation: Organisation,
    connector: Connector,
    config: AuthSchemeConfig,
    credential_type: str,
    data: dict[str, Any],
    key: str,
    verify: bool,
    base_url: str = "",
) -> VerificationResult | None:
    """With ``verify``: the form's secret cleaned for its type (refused in the form's own
    field names), then :func:`form_verify`; else None."""
    if not verify:
        return None
    try:
        cleaned = credential_data_clean(organisation=organisation, type=credential_type, data=data)
    except PatchbayError as error:
        raise reprefix(error, key) from None
    return form_verify(
        organisation=organisation,
        connector=connector,
        config=config,
        credential_type=credential_type,
        data=cleaned,
        key=key,
        base_url=base_url,
    )
