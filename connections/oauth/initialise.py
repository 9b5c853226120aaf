"""Initialise an OAuth 2.0 authorization-code flow (SPEC §5.1).

:func:`authorisation_initialise` validates the request, stores one
:class:`~connections.models.AuthorisationRequest` (the state only as a SHA-256
hash, the PKCE verifier encrypted) and returns the provider URL to send the
person to. Every check that needs no database runs before the first query.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils import timezone

from connections.models import AuthorisationRequest, Connection
from connections.oauth import params as p
from connections.oauth.start_config import config_and_client
from connectors.oauth2 import OAuth2Config
from core.errors import PatchbayError, invalid, not_found
from core.logs import WARNING, refusal
from core.text import parse_uuid
from credentials.models import Credential
from credentials.selectors import credential_refused
from organisations.models import Organisation

OFFLINE_ACCESS = "offline_access"
DEFAULT_PROMPT = "login"
CALLBACK_PATH = "/connections/oauth2/callback"

logger = logging.getLogger(__name__)


def default_redirect_uri() -> str:
    """The public browser callback: the redirect URI registered at providers."""
    return f"{settings.PATCHBAY_PUBLIC_URL}{CALLBACK_PATH}"


def state_hash(state: str) -> str:
    """How a state is stored and looked up: only its SHA-256, never the state itself."""
    return hashlib.sha256(state.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class InitialiseParams:
    """Everything an initialise needs, whoever asks (REST API today, embed API later).

    ``organisation`` is the caller's organisation (already authorised); the rest is the
    request body of SPEC §5.1 as :class:`connections.inputs.InitialiseRequest` parses it.
    The embed API adds who the connection is for.
    """

    organisation: Organisation
    connector_id: str
    authorize_url: str
    client_id: str
    credential_id: str
    credential_organisation_id: str
    additional_params: str = ""
    disable_offline_access: bool = False
    prompt: str | None = None
    scopes: list[str] | None = None
    redirect_url: str | None = None
    auth_scheme_config_id: str | None = None
    connection_id: str | None = None
    # Embed (SPEC §8): the hub, end user and connect session the connection is for, by id:
    # embed sits above connections, which knows them only as these foreign keys.
    hub_id: uuid_module.UUID | None = None
    end_user_id: uuid_module.UUID | None = None
    connect_session_id: uuid_module.UUID | None = None


@dataclass(frozen=True)
class InitialiseResult:
    """Where to send the person, and the stored authorisation request."""

    url: str
    authorisation_request: AuthorisationRequest = field(repr=False)
    # Embed flows: the one-time secret the panel hands its start page (never in a URL).
    browser_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class _AuthorizeQuery:
    """The validated, database-free part of an initialise: what goes into the URL."""

    scopes: list[str]
    prompt: str | None
    extra: list[tuple[str, str]]


def _authorize_query(params: InitialiseParams, config: OAuth2Config) -> _AuthorizeQuery:
    """Scopes, prompt and additional parameters, with every conflict refused (SPEC §5.1)."""
    requested = params.scopes if params.scopes is not None else config.default_scopes
    field_name = "scopes" if params.scopes is not None else "authSchemeConfig.defaultScopes"
    scopes = p.check_scopes(list(requested), config.scope_separator, field_name)
    if not params.disable_offline_access:
        scopes = [*scopes, OFFLINE_ACCESS]
    scopes = p.dedupe(scopes)

    configured = p.parse_query(
        config.additional_authorize_params, "authSchemeConfig.additionalAuthorizeParams"
    )
    additional = p.parse_query(params.additional_params, "additionalParams")
    if params.prompt is not None:
        prompt: str | None = p.parse_prompt(params.prompt)
    elif p.has_param(additional, "approval_prompt") or p.has_param(configured, "approval_prompt"):
        prompt = None  # Google's legacy approval_prompt and prompt may not be combined.
    else:
        prompt = DEFAULT_PROMPT
    reserved = [*p.RESERVED_AUTHORIZE_PARAMS, *(["prompt"] if prompt is not None else [])]
    existing = parse_qsl(urlsplit(params.authorize_url).query, keep_blank_values=True)
    p.refuse_reserved(existing, reserved, "authorizeUrl", what="The authorize URL")
    p.refuse_reserved(
        configured,
        reserved,
        "authSchemeConfig.additionalAuthorizeParams",
        what="The auth scheme config's additionalAuthorizeParams",
    )
    p.refuse_reserved(additional, reserved, "additionalParams", what="additionalParams")
    # The request's own parameters win over the connector's defaults of the same name.
    overridden = {p.param_key(name) for name, _ in additional}
    extra = [(k, v) for k, v in configured if p.param_key(k) not in overridden] + additional
    return _AuthorizeQuery(scopes=scopes, prompt=prompt, extra=extra)


def _check_hub_flow(params: InitialiseParams, config: OAuth2Config, credential: Credential) -> None:
    """Through a hub the caller is an end user's browser, not the organisation's backend: it
    may start only the flow the connector is configured for, with the client credential of
    its authorization-code grant and its own authorize URL (what the embed connectors list
    shows). Otherwise an end user could name another connector's client credential and have
    Patchbay send that client's secret to this connector's token endpoint.
    """
    grant = config.grants.get("authorizationCode")
    if (
        config.grant_type != "authorizationCode"
        or grant is None
        or parse_uuid(grant.credential_id) != credential.pk
    ):
        raise not_found("credential")
    if params.authorize_url != config.authorize_url:
        raise invalid(
            "authorizeUrl",
            "Through a hub, authorizeUrl must be the connector's own authorize URL.",
            "authorize_url_mismatch",
        )


def check_client_id(credential: Credential, client_id: str) -> None:
    """The client id used must be the one stored with the client secret."""
    data = credential.data if isinstance(credential.data, dict) else {}
    stored = data.get("clientId")
    if not isinstance(stored, str) or not secrets.compare_digest(
        stored.encode(), client_id.encode()
    ):
        raise invalid(
            "clientId",
            "clientId is not the client id stored in the credential.",
            "client_id_mismatch",
        )


def token_url_for(config: OAuth2Config, credential: Credential) -> str:
    """The token endpoint: the config's, else the one stored with the client credential."""
    data = credential.data if isinstance(credential.data, dict) else {}
    url = config.token_url or data.get("tokenUrl") or ""
    return url if isinstance(url, str) else ""


def authorisation_initialise(params: InitialiseParams) -> InitialiseResult:
    """Validate an initialise request, store its authorisation request, build the authorize URL.

    Security-relevant rules (SPEC §5.1): the client credential must belong to the caller's
    organisation (else 404) and carry the same client id; the authorize URL is https with
    no user information or fragment; no caller-supplied parameter may override one Patchbay
    sets (any letter case); the redirect URI is allow-listed or loopback. The state is 32
    random bytes, returned only inside the URL and stored only as a hash. Costs 2 queries
    (3 with ``connectionId``): one read and the insert.
    """
    p.check_provider_url(params.authorize_url, "authorizeUrl")
    redirect_uri = (
        p.check_redirect_url(params.redirect_url, params.organisation.allowed_redirect_urls or [])
        if params.redirect_url is not None
        else default_redirect_uri()
    )
    if params.connection_id is not None and parse_uuid(params.connection_id) is None:
        raise not_found("connection")

    config_row, client = config_and_client(params)
    config = OAuth2Config.from_settings(config_row.settings)
    query = _authorize_query(params, config)
    p.refuse_reserved(
        p.parse_query(config.additional_token_params, "authSchemeConfig.additionalTokenParams"),
        p.RESERVED_TOKEN_PARAMS,
        "authSchemeConfig.additionalTokenParams",
        what="The auth scheme config's additionalTokenParams",
    )

    if client is None:
        credential_refused(
            organisation=params.organisation,
            credential_id=params.credential_id,
            another_organisation=(
                parse_uuid(params.credential_organisation_id) != params.organisation.pk
            ),
            connector_id=config_row.connector_id,
            hub_id=params.hub_id,
        )
        raise not_found("credential")
    credential = client
    try:
        check_client_id(credential, params.client_id)
        if params.hub_id is not None:
            _check_hub_flow(params, config, credential)
    except PatchbayError as error:
        # Another client's id, or an end user naming another connector's client credential.
        refusal(
            logger,
            error.code,
            level=WARNING,
            reason="not_the_grant_client" if error.code == "not_found" else None,
            credential_id=credential.pk,
            organisation_id=params.organisation.pk,
            connector_id=config_row.connector_id,
            hub_id=params.hub_id,
        )
        raise
    token_url = token_url_for(config, credential)
    p.check_provider_url(token_url, "authSchemeConfig.tokenUrl")

    connection: Connection | None = None
    connection_pk = parse_uuid(params.connection_id)
    if connection_pk is not None:
        connections = Connection.objects.filter(
            pk=connection_pk,
            organisation=params.organisation,
            connector_id=config_row.connector_id,
        )
        if params.end_user_id is not None:  # an end user re-authorises only their own
            connections = connections.filter(end_user_id=params.end_user_id)
        connection = connections.first()
        if connection is None:
            raise not_found("connection")

    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64) if config.pkce else None
    browser_secret = secrets.token_urlsafe(32) if params.hub_id is not None else None
    request = AuthorisationRequest(
        organisation=params.organisation,
        connector_id=config_row.connector_id,
        auth_scheme_config=config_row,
        client_credential=credential,
        state_hash=state_hash(state),
        client_id=params.client_id,
        redirect_uri=redirect_uri,
        scopes=query.scopes,
        code_verifier=verifier,
        expected_issuer=config.issuer,
        connection=connection,
        hub_id=params.hub_id,
        end_user_id=params.end_user_id,
        connect_session_id=params.connect_session_id,
        browser_secret_hash=state_hash(browser_secret) if browser_secret else "",
        expires_at=timezone.now() + timedelta(seconds=settings.PATCHBAY_STATE_TTL_SECONDS),
    )
    request.save(force_insert=True)

    ours: list[tuple[str, str]] = [
        ("response_type", "code"),
        ("client_id", params.client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
    ]
    if query.scopes:
        ours.append(("scope", config.scope_separator.join(query.scopes)))
    if query.prompt is not None:
        ours.append(("prompt", query.prompt))
    if verifier is not None:
        ours += [("code_challenge", pkce_challenge(verifier)), ("code_challenge_method", "S256")]
    return InitialiseResult(
        url=_with_query(params.authorize_url, ours + query.extra),
        authorisation_request=request,
        browser_secret=browser_secret,
    )


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    """``url`` with ``pairs`` appended; the URL's own query is kept byte for byte."""
    parts = urlsplit(url)
    added = urlencode(pairs)
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
