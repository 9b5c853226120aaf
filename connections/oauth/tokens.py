"""Talking to token endpoints (SPEC §5.2, §5.3).

The authorization-code exchange goes through requests-oauthlib's ``OAuth2Session``
mounted on the outbound seam (:func:`core.outbound.guard`); the other grants
(refresh token, client credentials, password) are plain form POSTs through
:func:`core.outbound.session`. Either way: timeouts, size cap, SSRF guard.
Nothing here logs or puts into an exception a code, token, client secret or
PKCE verifier; provider error descriptions are dropped too (they may echo input).
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.utils import timezone
from requests_oauthlib import OAuth2Session

from connections.oauth.client_auth import client_authentication
from core.client_tls import ClientCertificate
from core.errors import PatchbayError
from core.outbound import OutboundError, guard, session
from core.time import iso

logger = logging.getLogger(__name__)

_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
MAX_TOKEN_LENGTH = 16_384


def provider_error_code(value: object) -> str | None:
    """A provider's ``error`` value if it looks like an OAuth error code, else None."""
    return value if isinstance(value, str) and _ERROR_CODE.match(value) else None


@dataclass
class TokenExchangeFailed(PatchbayError):
    """The token endpoint did not give us a usable token: 502 ``token_exchange_failed``."""

    code: str = "token_exchange_failed"
    message: str = "The provider did not issue a token."
    status: int = 502
    provider_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        body = super().as_dict()
        if self.provider_error:
            body["providerError"] = self.provider_error
        return body


def _failed(reason: str, provider_error: str | None = None) -> TokenExchangeFailed:
    message = f"The provider did not issue a token ({reason})."
    if provider_error:
        message = f"The provider refused to issue a token: {provider_error}."
    return TokenExchangeFailed(message=message, provider_error=provider_error)


@dataclass(frozen=True)
class TokenSet:
    """What a token endpoint issued. ``repr`` hides the secrets."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: datetime | None
    refresh_token: str | None = field(repr=False)
    scopes: list[str]

    def as_credential_data(self) -> dict[str, Any]:
        """The inner object of an ``oauth2-token`` credential."""
        data: dict[str, Any] = {
            "scopes": self.scopes,
            "accessToken": self.access_token,
            "tokenType": self.token_type,
            "expiresAt": iso(self.expires_at),
        }
        if self.refresh_token:
            data["refreshToken"] = self.refresh_token
        return data


@dataclass(frozen=True)
class CodeExchange:
    """One authorization-code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5)."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    code: str = field(repr=False)
    redirect_uri: str
    code_verifier: str | None = field(repr=False)
    token_auth_method: str = "client_secret_basic"
    additional_params: list[tuple[str, str]] = field(default_factory=list)
    requested_scopes: list[str] = field(default_factory=list)
    scope_separator: str = " "
    client_certificate: ClientCertificate | None = None  # mTLS (RFC 8705)


def token_exchange(exchange: CodeExchange) -> TokenSet:
    """Exchange an authorization code for tokens, or raise :class:`TokenExchangeFailed`.

    The client authenticates as :func:`client_authentication` says (over mTLS with a client
    certificate). Refused: 5xx, HTML, anything not a token response or without a token.
    """
    http = OAuth2Session(client_id=exchange.client_id, redirect_uri=exchange.redirect_uri)
    guard(
        http,
        client_certificate=exchange.client_certificate,
        deadline=settings.PATCHBAY_HTTP_TOKEN_DEADLINE,
    )
    # fetch_token follows redirects (it has no allow_redirects): with none allowed, a
    # 307 cannot re-send the code, the verifier and the client secret elsewhere.
    http.max_redirects = 0
    seen: dict[str, requests.Response] = {}
    answered: dict[str, Any] = {}  # expires_in as the provider sent it (oauthlib never sees it)

    def inspect(response: requests.Response) -> requests.Response:
        seen["response"] = response
        content_type = response.headers.get("Content-Type", "").lower()
        if response.status_code >= 500:
            raise _failed(f"HTTP {response.status_code}", _error_in(response))
        if "html" in content_type:
            raise _failed(f"an HTML page with HTTP {response.status_code}")
        return _without_expires_in(response, answered)

    http.register_compliance_hook("access_token_response", inspect)
    # additionalTokenParams go into the form body and nowhere else. As keyword arguments,
    # names such as ``verify``, ``cert``, ``method`` or ``headers`` would be taken by
    # fetch_token as options of its own (``verify=`` turns certificate checks off).
    body = urlencode(exchange.additional_params)
    kw: dict[str, Any] = {"code_verifier": exchange.code_verifier} if exchange.code_verifier else {}
    form: dict[str, str] = {}
    auth = client_authentication(
        exchange.token_auth_method, exchange.client_id, exchange.client_secret, form
    )
    if auth is None:  # the id (and the secret, for client_secret_post) go into the body
        kw.update(include_client_id=True, client_secret=form.get("client_secret"))
    try:
        token = http.fetch_token(exchange.token_url, code=exchange.code, body=body, auth=auth, **kw)
    except TokenExchangeFailed as exc:
        logger.warning("Token exchange failed: %s", exc.message)
        raise
    except OutboundError as exc:
        logger.warning("Token exchange failed: %s", exc.kind)
        raise _failed(exc.public_kind) from None
    except Exception:
        # Anything oauthlib trips over while reading the answer (OAuth2Error, ValueError,
        # OverflowError for an expires_in of 1e400, AttributeError for a numeric scope,
        # a redirect we do not follow ...) is the provider failing to issue a token.
        # Never chain: these messages can quote the provider's body.
        response = seen.get("response")
        error = _error_in(response) if response is not None else None
        status = response.status_code if response is not None else None
        logger.warning("Token exchange failed: HTTP %s, error %s", status, error)
        raise _failed("not a token response", error) from None
    token = {**token, "expires_in": answered.get("expires_in")}
    return _token_set(token, exchange.requested_scopes, exchange.scope_separator)


_NUMERIC = re.compile(r"\s*-?[0-9]{1,12}(\.[0-9]{1,9})?\s*")
MAX_EXPIRES_IN = 10**9


def expires_in_seconds(value: object) -> float | None:
    """``expires_in`` as a number or a numeric string (RFC 6749 §5.1 says a number; many
    providers send ``"3600"``), clamped to [0, 10⁹] seconds; None when it is absent or
    not a number (the token is then used until refused)."""
    if isinstance(value, str) and _NUMERIC.fullmatch(value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        return None
    return float(max(0, min(value, MAX_EXPIRES_IN)))


def _without_expires_in(response: requests.Response, answered: dict[str, Any]) -> requests.Response:
    """The token response without ``expires_in``, which goes into ``answered`` instead.

    oauthlib runs ``int()`` on it, which refuses ``"3600.0"``, overflows on ``1e400`` and
    drops ``0``; Patchbay reads it itself (:func:`expires_in_seconds`), alike for every grant.
    """
    try:
        body = json.loads(response.content or b"")
    except (ValueError, UnicodeDecodeError):
        return response  # not JSON: oauthlib refuses it, as it should
    if not isinstance(body, dict) or "expires_in" not in body:
        return response
    answered["expires_in"] = body.pop("expires_in")
    response._content = json.dumps(body).encode()
    return response


def _error_in(response: requests.Response) -> str | None:
    try:
        body = json.loads(response.content or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    return provider_error_code(body.get("error")) if isinstance(body, dict) else None


def _token_set(token: dict[str, Any], requested: list[str], separator: str) -> TokenSet:
    access_token = token.get("access_token")
    if not isinstance(access_token, str) or not 0 < len(access_token) <= MAX_TOKEN_LENGTH:
        raise _failed("no usable access_token")
    refresh_token = token.get("refresh_token")
    if not isinstance(refresh_token, str) or not 0 < len(refresh_token) <= MAX_TOKEN_LENGTH:
        refresh_token = None  # a provider may issue none (SPEC §5.2)
    token_type = token.get("token_type")
    if not isinstance(token_type, str) or not 0 < len(token_type) <= 64:
        token_type = "Bearer"
    expires_in = expires_in_seconds(token.get("expires_in"))
    expires_at = None if expires_in is None else timezone.now() + timedelta(seconds=expires_in)
    granted = token.get("scope")
    scopes = requested
    if isinstance(granted, list) and all(isinstance(s, str) for s in granted):
        scopes = [part for item in granted for part in item.split(separator) if part]
    elif isinstance(granted, str):
        scopes = [part for part in granted.replace(separator, " ").split() if part]
    return TokenSet(
        access_token=access_token,
        token_type=token_type,
        expires_at=expires_at,
        refresh_token=refresh_token,
        scopes=scopes,
    )


# --- The other grants: refresh_token, client_credentials, password ---------------


@dataclass(frozen=True)
class TokenClient:
    """How Patchbay authenticates at a token endpoint. ``repr`` hides the secret."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    token_auth_method: str = "client_secret_basic"
    additional_params: list[tuple[str, str]] = field(default_factory=list)
    scope_separator: str = " "
    client_certificate: ClientCertificate | None = None  # mTLS (RFC 8705)


class TokenRequestError(Exception):
    """A token request that gave no token. ``reason`` is a short code safe to log and show.

    ``refused`` is true when the provider said ``invalid_grant``: the grant (refresh
    token, password) is no longer good, and asking again will not help.
    """

    def __init__(
        self, reason: str, provider_error: str | None = None, *, status: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.provider_error = provider_error
        self.status = status

    @property
    def refused(self) -> bool:
        # A server error says nothing about the grant, whatever its body claims: a 503
        # carrying {"error": "invalid_grant"} must not cost the connection its refresh token.
        server_error = self.status is not None and self.status >= 500
        return self.provider_error == "invalid_grant" and not server_error


# Names the caller sets; additionalTokenParams may not override them.
_GRANT_PARAMS = frozenset(
    {"grant_type", "refresh_token", "username", "password", "client_id", "client_secret", "code"}
)


def token_request(
    client: TokenClient,
    grant: dict[str, str],
    *,
    requested_scopes: list[str] | None = None,
) -> TokenSet:
    """POST one non-interactive grant (``grant["grant_type"]`` is ``refresh_token``,
    ``client_credentials`` or ``password``) and return the tokens, or raise
    :class:`TokenRequestError`.

    Refused as failures: transport errors, 5xx, HTML, a body that is not a JSON object,
    an error response, a response without ``access_token``. Neither the grant's secrets
    nor the provider's body reach a log line or an exception message.
    """
    form: dict[str, str] = {
        name: value for name, value in client.additional_params if name.lower() not in _GRANT_PARAMS
    }
    form.update(grant)
    auth = client_authentication(
        client.token_auth_method, client.client_id, client.client_secret, form
    )
    kind = grant.get("grant_type", "?")
    try:
        response = session(
            client_certificate=client.client_certificate,
            deadline=settings.PATCHBAY_HTTP_TOKEN_DEADLINE,
        ).post(
            client.token_url,
            data=form,
            auth=auth,
            headers={"Accept": "application/json"},
            allow_redirects=False,
        )
    except OutboundError as exc:
        logger.warning("Token request (%s) failed: %s", kind, exc.kind)
        raise TokenRequestError(exc.public_kind) from None
    status = response.status_code
    error = _error_in(response)
    content_type = response.headers.get("Content-Type", "").lower()
    if status >= 500:
        reason = f"http_{status}"
    elif "html" in content_type:
        reason = "html_response"
    elif status >= 400 or (200 <= status < 300 and error):
        reason = error or f"http_{status}"
    elif status != 200:
        reason = f"http_{status}"
    else:
        reason = ""
    if reason:
        logger.warning("Token request (%s) failed: HTTP %s, error %s", kind, status, error)
        raise TokenRequestError(reason, error, status=status)
    try:
        body = json.loads(response.content or b"")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        logger.warning("Token request (%s) failed: not a JSON object", kind)
        raise TokenRequestError("invalid_json")
    try:
        return _token_set(body, list(requested_scopes or []), client.scope_separator)
    except TokenExchangeFailed:
        logger.warning("Token request (%s) failed: no usable access_token", kind)
        raise TokenRequestError("no_access_token") from None
