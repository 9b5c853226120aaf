"""The API shape of a credential (SPEC §4). Secret fields are omitted, never masked."""

from __future__ import annotations

from typing import Any

from core.time import iso
from credentials.models import Credential
from credentials.types import CREDENTIAL_TYPES, data_key_for, public_data


def credential_repr(credential: Credential) -> dict[str, Any]:
    """``{id, organisationId, name, type, data: {<key>: {...}}, errors, expiresAt, redactFields,
    createdAt, updatedAt}`` with every secret field left out of ``data``.

    For typed credentials ``redactFields`` lists the type's own secret fields
    (what is left out); for ``default`` it is the stored list.
    """
    spec = CREDENTIAL_TYPES.get(credential.type)
    stored_redact = list(credential.redact_fields or [])
    redact_fields = stored_redact if spec is None or spec.free_form else list(spec.secret_fields)
    return {
        "id": str(credential.pk),
        "organisationId": str(credential.organisation_id),
        "name": credential.name,
        "type": credential.type,
        "data": {
            data_key_for(credential.type): public_data(
                credential.type, credential.data, stored_redact
            )
        },
        "errors": credential.errors,
        "expiresAt": iso(credential.expires_at),
        "redactFields": redact_fields,
        "createdAt": iso(credential.created_at),
        "updatedAt": iso(credential.updated_at),
    }
