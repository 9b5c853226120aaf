"""The OAuth 2.0 authorization-code flow, used by every entry point alike.

The REST API, the browser callback page and (later) the hub-scoped embed API
all call these functions. They take and return dataclasses and raise
:class:`core.errors.PatchbayError`; they never see or build HTTP responses.

* :func:`authorisation_initialise` (``InitialiseParams`` → ``InitialiseResult``):
  validate an initialise request, store an :class:`AuthorisationRequest`, build
  the provider's authorize URL (SPEC §5.1).
* :func:`callback_params_parse` + :func:`authorisation_complete`
  (``CallbackParams`` → ``AuthorisationOutcome``): consume the state, exchange
  the code, store the token credential and the connection (SPEC §5.2).
* :func:`access_token_get` (``Connection`` → ``AccessToken``): the token of a
  connection, refreshed under its refresh lock when due or forced (SPEC §5.3);
  :func:`token_refresh` (admin's "refresh now") and :func:`token_refresh_due` (the
  worker) renew tokens the same way (``refresh.py``).
* :func:`connection_create_with_grant`: a connection whose token comes from a
  client-credentials or password grant, with no browser (``grants.py``).
"""

from __future__ import annotations

from connections.oauth.access import AccessToken
from connections.oauth.browser import (
    BrowserBinding,
    authorisation_browser_bind,
    browser_bindings,
    cookie_name,
)
from connections.oauth.callback import (
    AuthorisationOutcome,
    CallbackParams,
    ProviderError,
    authorisation_complete,
    callback_params_parse,
)
from connections.oauth.grants import GrantParams, connection_create_with_grant
from connections.oauth.initialise import (
    InitialiseParams,
    InitialiseResult,
    authorisation_initialise,
)
from connections.oauth.refresh import (
    ReauthorisationRequired,
    TokenRefreshFailed,
    access_token_get,
    token_refresh,
)
from connections.oauth.refresh_due import token_refresh_due
from connections.oauth.tokens import TokenExchangeFailed, TokenSet, token_exchange

__all__ = [
    "AccessToken",
    "AuthorisationOutcome",
    "BrowserBinding",
    "CallbackParams",
    "GrantParams",
    "InitialiseParams",
    "InitialiseResult",
    "ProviderError",
    "ReauthorisationRequired",
    "TokenExchangeFailed",
    "TokenRefreshFailed",
    "TokenSet",
    "access_token_get",
    "authorisation_browser_bind",
    "authorisation_complete",
    "authorisation_initialise",
    "browser_bindings",
    "callback_params_parse",
    "connection_create_with_grant",
    "cookie_name",
    "token_exchange",
    "token_refresh",
    "token_refresh_due",
]
