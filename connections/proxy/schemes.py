"""How each auth scheme puts a connection's credential on a proxied request (SPEC §9.1).

:data:`APPLIERS` maps an auth scheme config type to one function
``(out, link, state) -> None`` that changes the :class:`Outgoing` request for one of the
connection's credentials; the proxy calls them in the connection's order, afresh for
every attempt (a retry gets a new HMAC timestamp, a refreshed token). A type without a
working applier answers 409 ``scheme_not_supported``: nothing is sent. To support a new
scheme, add its function here (``certificate`` sets the TLS client identity of the one
outbound call, :func:`connections.proxy.service.upstream_call`: mTLS).

No applier logs or raises anything that holds a secret.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from connections.models import Connection, ConnectionCredential
from connections.oauth.access import AccessToken
from connections.oauth.refresh import config_of, refresh_due, token_refresh
from connections.proxy.outgoing import Outgoing
from connections.proxy.signing import sign
from connectors.models import AuthSchemeType
from core.errors import PatchbayError
from core.text import has_control_characters
from credentials.models import CredentialType
from credentials.tls import client_certificate


@dataclass
class CallState:
    """What the attempts of one proxied request share: the tokens they used, and which
    links were refreshed during the request (those get no second refresh after a 401)."""

    connection: Connection
    force_refresh: set[Any] = field(default_factory=set)
    refreshed: set[Any] = field(default_factory=set)
    tokens: dict[Any, AccessToken] = field(default_factory=dict, repr=False)


Applier = Callable[[Outgoing, ConnectionCredential, CallState], None]


def unusable(link: ConnectionCredential, why: str) -> PatchbayError:
    return PatchbayError(
        "credential_unusable",
        f"The connection's credential {link.credential_id} cannot be used: {why}.",
        409,
    )


def _data(link: ConnectionCredential) -> dict[str, Any]:
    data = link.credential.data
    return data if isinstance(data, dict) else {}


def _text(link: ConnectionCredential, value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise unusable(link, f"it holds no {what}")
    if has_control_characters(value):
        raise unusable(link, f"its {what} has control characters")
    return value


def apply_none(out: Outgoing, link: ConnectionCredential, state: CallState) -> None:
    return None


def apply_api_key(out: Outgoing, link: ConnectionCredential, state: CallState) -> None:
    settings = link.auth_scheme_config.settings or {}
    name = str(settings.get("name") or "")
    value = _text(link, _data(link).get("value"), "key")
    where = settings.get("in") or "header"
    if where == "query":
        out.add_query(name, value)
    elif where == "cookie":
        out.cookies = [(k, v) for k, v in out.cookies if k != name] + [(name, value)]
    else:
        out.set_header(name, value)


def apply_basic_auth(out: Outgoing, link: ConnectionCredential, state: CallState) -> None:
    data = _data(link)
    username = _text(link, data.get("username"), "username")
    password = data.get("password") if isinstance(data.get("password"), str) else ""
    pair = f"{username}:{password}".encode()
    out.set_header("Authorization", "Basic " + base64.b64encode(pair).decode())


def apply_oauth2(out: Outgoing, link: ConnectionCredential, state: CallState) -> None:
    """``Authorization: <tokenType> <accessToken>``, refreshed first when due (or after a
    401): the §5.3 refresh, one at a time per credential across processes."""
    if link.credential.type != CredentialType.OAUTH2_TOKEN:
        return  # an oauth2-password credential is the grant's, not sent upstream
    token = state.tokens.get(link.pk) or AccessToken.from_credential(link.credential)
    forced = link.pk in state.force_refresh
    if forced or refresh_due(token, config_of(link)):
        link.connection = state.connection
        token = token_refresh(link=link, force=forced, seen=token.access_token)
        state.refreshed.add(link.pk)
        state.force_refresh.discard(link.pk)
    state.tokens[link.pk] = token
    kind = "Bearer" if token.token_type.lower() == "bearer" else token.token_type
    out.set_header("Authorization", f"{kind} {_text(link, token.access_token, 'token')}")


def apply_hmac(out: Outgoing, link: ConnectionCredential, state: CallState) -> None:
    data = _data(link)
    if link.credential.type == CredentialType.BINARY:
        try:
            key = base64.b64decode(str(data.get("valueBase64") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise unusable(link, "its key is not base64") from None
    else:
        key = str(data.get("value") or "").encode()
    if not key:
        raise unusable(link, "it holds no key")
    sign(out, key=key, settings=link.auth_scheme_config.settings or {})


def apply_certificate(out: Outgoing, link: ConnectionCredential, state: CallState) -> None:
    """mTLS: the credential's certificate and key become the TLS client identity of the
    call, and its ``ca`` (when set) the only trust anchor (:mod:`core.client_tls`; the key
    reaches OpenSSL through an anonymous memory file, never a file on disk)."""
    certificate = client_certificate(link.credential)
    if certificate is None:
        raise unusable(link, "it holds no certificate and key")
    if urlsplit(out.url).scheme != "https":
        raise unusable(link, "a client certificate is only sent over https")
    if out.client_certificate is not None:
        raise unusable(link, "the connection already has a client certificate")
    out.client_certificate = certificate


def not_supported(why: str) -> Applier:
    def refuse(out: Outgoing, link: ConnectionCredential, state: CallState) -> None:
        raise PatchbayError("scheme_not_supported", why, 409)

    return refuse


APPLIERS: dict[str, Applier] = {
    AuthSchemeType.NONE: apply_none,
    AuthSchemeType.API_KEY: apply_api_key,
    AuthSchemeType.BASIC_AUTH: apply_basic_auth,
    AuthSchemeType.OAUTH2: apply_oauth2,
    AuthSchemeType.HMAC: apply_hmac,
    AuthSchemeType.OAUTH1: not_supported(
        "The proxy does not sign OAuth 1.0a requests yet: this connection cannot be proxied."
    ),
    AuthSchemeType.CERTIFICATE: apply_certificate,
}


def credentials_apply(out: Outgoing, links: list[ConnectionCredential], state: CallState) -> None:
    """Apply every credential of the connection to ``out``, in the connection's order."""
    for link in sorted(links, key=lambda x: (x.position, str(x.pk))):
        applier = APPLIERS.get(link.auth_scheme_config.type)
        if applier is None:
            raise PatchbayError(
                "scheme_not_supported", f"Unknown auth scheme {link.auth_scheme_config.type}.", 409
            )
        applier(out, link, state)
