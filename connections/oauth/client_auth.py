"""How Patchbay's OAuth client authenticates at token and revocation endpoints."""

from __future__ import annotations

from urllib.parse import quote_plus

import requests


def client_authentication(
    method: str, client_id: str, client_secret: str, form: dict[str, str]
) -> requests.auth.AuthBase | None:
    """How the client authenticates at a token or revocation endpoint: the id and secret
    in the ``form`` (``client_secret_post``), the id alone (``tls_client_auth``: the mTLS
    certificate authenticates, RFC 8705 §2.1), else HTTP Basic with both form-encoded
    first (RFC 6749 §2.3.1)."""
    if method in ("client_secret_post", "tls_client_auth"):
        form["client_id"] = client_id
        if method == "client_secret_post":
            form["client_secret"] = client_secret
        return None
    return requests.auth.HTTPBasicAuth(quote_plus(client_id), quote_plus(client_secret))
