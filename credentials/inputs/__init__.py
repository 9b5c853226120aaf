"""What the credentials API accepts (SPEC §4), declared once and generated from the type
registry (:data:`credentials.types.CREDENTIAL_TYPES`): per type, the inner ``data``
object (``BasicAuthCredentialData``), its ``{"basicAuth": {...}}`` wrapper and the body
(``CredentialBasicAuth``). These classes validate and are what the document shows.

Parsing is in stages, as the API has always answered: the body's shape and keys, then an
``organisationId`` of another organisation (404, SPEC §3), then the ``type`` (its own
codes: ``use_oauth_flow``), then every other field together. The inner data is parsed to
a :class:`CredentialData` (what was given); how it combines with what is stored (secrets
kept, ``null`` clears, required fields) is :meth:`CredentialData.merged`, which the update
service runs on the row it has locked. Messages never contain a submitted value.

The package: :mod:`credentials.inputs.data` (the inner ``data`` of each type) and
:mod:`credentials.inputs.body` (the bodies). Import from here.
"""

from credentials.inputs.body import (
    ALLOWED_KEYS,
    CREDENTIAL_INPUTS,
    NAME_MAX,
    CredentialWrite,
    credential_body,
    credential_request,
    credential_type_resolve,
)
from credentials.inputs.data import (
    DATA_INPUTS,
    DATA_WRAPPERS,
    CredentialData,
    DataInput,
    camel,
    credential_data_parse,
)

__all__ = [
    "ALLOWED_KEYS",
    "CREDENTIAL_INPUTS",
    "DATA_INPUTS",
    "DATA_WRAPPERS",
    "NAME_MAX",
    "CredentialData",
    "CredentialWrite",
    "DataInput",
    "camel",
    "credential_body",
    "credential_data_parse",
    "credential_request",
    "credential_type_resolve",
]
