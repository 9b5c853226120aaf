"""The credentials API's ``oauth2-code`` input (SPEC §4), exchanged here.

Credentials sits below connections and cannot run the flow, so it asks through the
:data:`credentials.signals.credential_exchange` signal (as it asks who uses a credential
through ``credential_uses``), and this module answers for ``oauth2-code``. The code is
finished exactly as ``GET /api/v2/connections/oauth2/callback`` finishes it — the same
shape checks (:func:`~connections.oauth.callback.callback_params_parse`), the state
consumed once, only by its own organisation, unexpired, with the issuer and client rules,
then the exchange and the stored ``oauth2-token`` credential and connection — plus one
rule of its own: a ``redirectUrl``, when given, must be the flow's exactly. Errors come
back with their fields under ``data.oauth2Code``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connections.oauth.callback import authorisation_complete, callback_params_parse
from core.errors import FieldError, PatchbayError
from credentials.models import Credential
from organisations.models import Organisation

PREFIX = "data.oauth2Code"


def oauth2_code_exchange(
    sender: object,
    *,
    organisation: Organisation,
    type: str,
    values: Mapping[str, Any],
    **kwargs: Any,
) -> Credential | None:
    """Answers :data:`credentials.signals.credential_exchange` for ``oauth2-code``."""
    if type != "oauth2-code":
        return None
    try:
        params = callback_params_parse([("state", [values["state"]]), ("code", [values["code"]])])
        outcome = authorisation_complete(
            params, organisation=organisation, redirect_uri=values.get("redirect_url")
        )
    except PatchbayError as error:
        error.fields = [FieldError(f"{PREFIX}.{f.field}", f.message) for f in error.fields or []]
        raise
    return outcome.credential
