"""Finish an OAuth 2.0 authorization-code flow (SPEC §5.2).

Order matters, and is the security argument:

1. :func:`callback_params_parse` checks the query's shape (no repeated
   parameters, bounded URL-safe state and code, no NUL/CR/LF) before any query.
2. :func:`authorisation_complete` consumes the state with one conditional
   UPDATE (unused, unexpired, of the caller's organisation when known): of two
   concurrent callbacks exactly one gets the row; an unknown, used, expired or
   foreign state is ``invalid_state`` and the provider is never called.
3. RFC 9207 ``iss``, the provider's ``error``, and the client id are checked.
4. The code is exchanged outside any transaction (no row lock held over the
   network), then the credential and connection are written in one transaction.

Every refusal is logged here (``core.logs.refusal``), with the authorisation request,
organisation and connector ids once the state names one — never the state or the code.
A replayed, unknown or foreign state, a wrong issuer or client id and a failed exchange
are warnings; a missing or expired state and a provider's own ``error`` are not.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from connections.models import AuthorisationRequest, AuthorisationStatus, Connection
from connections.oauth import params as p
from connections.oauth.browser import binding_hashes, binding_matches
from connections.oauth.initialise import check_client_id, state_hash, token_url_for
from connections.oauth.mtls import mtls_certificate
from connections.oauth.store import connection_authorise
from connections.oauth.tokens import (
    CodeExchange,
    TokenExchangeFailed,
    TokenRequestError,
    provider_error_code,
    token_exchange,
)
from connectors.oauth2 import OAuth2Config
from core.errors import FieldError, PatchbayError
from core.logs import INFO, WARNING, refusal
from core.text import has_control_characters
from credentials.models import Credential
from organisations.models import Organisation

MAX_STATE_LENGTH = 512
# Authorization codes are opaque and some providers' are long (Microsoft's run to
# ~1,000 characters), so the cap is looser than the state's.
MAX_CODE_LENGTH = 2048
MAX_PARAMS = 20
_STATE = re.compile(r"^[A-Za-z0-9_\-.~]+$")
_VSCHAR = re.compile(r"^[\x21-\x7e]+$")  # RFC 6749 Appendix A, without the space

CALLBACK_PARAMS = ("code", "state", "error", "error_description", "error_uri", "iss")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallbackParams:
    """The provider's answer, as received at a redirect URI. ``repr`` hides the code."""

    state: str
    code: str | None = field(default=None, repr=False)
    error: str | None = None
    error_description: str | None = None
    iss: str | None = None


def _invalid_state(
    message: str = "The state is missing, unknown, expired or already used.",
) -> PatchbayError:
    return PatchbayError("invalid_state", message, 400, [FieldError("state", message)])


def _malformed(error: PatchbayError, reason: str, level: int = INFO) -> PatchbayError:
    refusal(logger, error.code, level=level, reason=reason)
    return error


def callback_params_parse(query: Iterable[tuple[str, list[str]]]) -> CallbackParams:
    """Shape checks on a callback query, before anything touches the database."""
    values: dict[str, str] = {}
    for count, (name, items) in enumerate(query):
        if count >= MAX_PARAMS:
            raise _malformed(
                PatchbayError("invalid_request", "Too many query parameters.", 400),
                "too_many_parameters",
            )
        if len(items) != 1:
            raise _malformed(
                PatchbayError(
                    "invalid_request",
                    "Query parameters may not be repeated.",
                    400,
                    [FieldError(name[:64], "Repeated.")],
                ),
                "repeated_parameter",
            )
        if name in CALLBACK_PARAMS:
            values[name] = items[0]

    state = values.get("state")
    if not state:
        raise _malformed(_invalid_state("The state is missing."), "missing_state")
    if len(state) > MAX_STATE_LENGTH or not _STATE.match(state):
        raise _malformed(_invalid_state("The state is malformed."), "malformed_state", WARNING)

    code = values.get("code")
    if code is not None and (len(code) > MAX_CODE_LENGTH or not _VSCHAR.match(code)):
        raise _malformed(
            PatchbayError(
                "invalid_request", "The code is malformed.", 400, [FieldError("code", "Malformed.")]
            ),
            "malformed_code",
            WARNING,
        )
    iss = values.get("iss")
    if iss is not None and (len(iss) > p.MAX_URL_LENGTH or has_control_characters(iss)):
        raise _malformed(
            PatchbayError(
                "invalid_issuer",
                "The iss parameter is malformed.",
                400,
                [FieldError("iss", "Bad.")],
            ),
            "malformed_iss",
            WARNING,
        )
    error = values.get("error")
    if error is not None:
        error = provider_error_code(error) or "provider_error"
    elif not code:
        raise _malformed(
            PatchbayError(
                "invalid_request",
                "The callback carries neither a code nor an error.",
                400,
                [FieldError("code", "Required.")],
            ),
            "no_code_or_error",
        )
    description = values.get("error_description")
    if description is not None:
        description = re.sub(r"[\x00-\x1f\x7f]+", " ", description)[:500]
    return CallbackParams(
        state=state, code=code, error=error, error_description=description, iss=iss
    )


@dataclass
class ProviderError(PatchbayError):
    """The provider answered with ``error``: 400 with the provider's code (``access_denied``...)."""

    description: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.code == "access_denied"


@dataclass(frozen=True)
class AuthorisationOutcome:
    """A finished authorisation: the token credential and the connection it belongs to."""

    organisation: Organisation
    connection: Connection
    credential: Credential
    created: bool
    authorisation_request: AuthorisationRequest | None = field(default=None, repr=False)


def authorisation_consume(
    state: str, *, organisation: Organisation | None = None, browser_bindings: Sequence[str] = ()
) -> AuthorisationRequest | None:
    """Mark the authorisation request of ``state`` used, atomically; None if it was not usable.

    One conditional UPDATE: only one caller can move ``used_at`` from NULL, whatever the
    concurrency. With ``organisation`` a foreign state is left untouched; an embed flow is
    consumed only by the browser its start page bound (``browser_bindings``, its cookies'
    values; :mod:`connections.oauth.browser`).
    """
    now = timezone.now()
    rows = AuthorisationRequest.objects.filter(
        binding_matches(browser_bindings),
        state_hash=state_hash(state),
        used_at__isnull=True,
        expires_at__gt=now,
    )
    if organisation is not None:
        rows = rows.filter(organisation=organisation)
    if rows.update(used_at=now) != 1:
        return None
    return (
        AuthorisationRequest.objects.select_related(
            "organisation", "connector", "auth_scheme_config", "client_credential", "connection"
        )
        .filter(state_hash=state_hash(state))
        .first()
    )


def check_issuer(request: AuthorisationRequest, config: OAuth2Config, iss: str | None) -> None:
    """RFC 9207: ``iss`` must be exactly the expected issuer (no normalisation at all)."""
    expected = request.expected_issuer
    if iss is None:
        if config.iss_parameter_supported:
            raise PatchbayError(
                "invalid_issuer",
                "The provider's answer has no iss parameter.",
                400,
                [FieldError("iss", "Required.")],
            )
        return
    if expected and iss != expected:
        raise PatchbayError(
            "invalid_issuer",
            "The answer comes from another issuer than the one this flow was started with.",
            400,
            [FieldError("iss", "Does not match the expected issuer.")],
        )


def authorisation_complete(
    params: CallbackParams,
    *,
    organisation: Organisation | None = None,
    browser_bindings: Sequence[str] = (),
    redirect_uri: str | None = None,
) -> AuthorisationOutcome:
    """Consume the state, check the answer, exchange the code, store the result.

    ``organisation`` is the API caller's (API callback); the browser callback passes None,
    and the cookies that bind embed flows to the browser as ``browser_bindings``.
    ``redirect_uri``, when the caller names one (an ``oauth2-code`` credential's
    ``redirectUrl``), must be the flow's exactly (``redirect_url_mismatch``).
    Raises :class:`PatchbayError` (``invalid_state``, ``invalid_issuer``, the provider's error
    code as :class:`ProviderError`, ``client_id_mismatch``) or
    :class:`~connections.oauth.tokens.TokenExchangeFailed`; nothing is stored then but the
    authorisation request's outcome (failed, with the error code).
    """
    request = authorisation_consume(
        params.state, organisation=organisation, browser_bindings=browser_bindings
    )
    if request is None:
        if _log_unusable_state(params.state, organisation, browser_bindings):
            raise PatchbayError(
                "browser_mismatch",
                "This connection was started in another browser, so it cannot be finished "
                "here. Start again from the app you are connecting.",
                400,
            )
        raise _invalid_state()
    try:
        if redirect_uri is not None and redirect_uri != request.redirect_uri:
            raise PatchbayError(
                "redirect_url_mismatch",
                "redirectUrl is not the redirect URL this flow was started with.",
                400,
                [FieldError("redirectUrl", "Does not match the flow's.")],
            )
        return _complete(request, params)
    except PatchbayError as error:
        # The state is spent: record why, for a widget polling the outcome (SPEC §8).
        authorisation_record_failure(request, error.code)
        refusal(
            logger,
            error.code,
            # A provider's ``error`` is the person's choice or the provider's; the rest
            # (wrong issuer or client id, a failed exchange) is an attack or a misconfiguration.
            level=INFO if isinstance(error, ProviderError) else WARNING,
            reason="provider_error" if isinstance(error, ProviderError) else None,
            authorisation_request_id=request.pk,
            organisation_id=request.organisation_id,
            connector_id=request.connector_id,
            hub_id=request.hub_id,
            provider_error=getattr(error, "provider_error", None),
        )
        raise


def _log_unusable_state(
    state: str, organisation: Organisation | None, browser_bindings: Sequence[str]
) -> bool:
    """Say why a state could not be consumed (one more query, on this path only): a replay
    or another organisation's state is a warning, an expired one is not. True when the
    state is usable but by another browser (an embed flow bound elsewhere, or never bound):
    it stays usable there."""
    caller = organisation.pk if organisation is not None else None
    found = (
        AuthorisationRequest.objects.filter(state_hash=state_hash(state))
        .only(
            "id",
            "organisation_id",
            "connector_id",
            "hub_id",
            "browser_binding_hash",
            "used_at",
            "expires_at",
        )
        .first()
    )
    if found is None:
        refusal(
            logger,
            "invalid_state",
            level=WARNING,
            reason="unknown",
            caller_organisation_id=caller,
        )
        return False
    other_browser = (
        found.hub_id is not None
        and found.used_at is None
        and found.expires_at > timezone.now()
        and found.browser_binding_hash not in binding_hashes(browser_bindings)
        and (organisation is None or found.organisation_id == organisation.pk)
    )
    if other_browser:
        refusal(
            logger,
            "browser_mismatch",
            level=WARNING,
            reason="other_binding" if browser_bindings else "no_binding",
            authorisation_request_id=found.pk,
            organisation_id=found.organisation_id,
            connector_id=found.connector_id,
            hub_id=found.hub_id,
        )
        return True
    if organisation is not None and found.organisation_id != organisation.pk:
        reason, level = "another_organisation", WARNING
    elif found.used_at is not None:
        reason, level = "replayed", WARNING
    else:
        reason, level = "expired", INFO
    refusal(
        logger,
        "invalid_state",
        level=level,
        reason=reason,
        authorisation_request_id=found.pk,
        organisation_id=found.organisation_id,
        connector_id=found.connector_id,
        caller_organisation_id=caller,
    )
    return False


def authorisation_record_failure(request: AuthorisationRequest, code: str) -> None:
    """Mark a consumed authorisation request failed with ``code`` (never a secret)."""
    AuthorisationRequest.objects.filter(pk=request.pk, status=AuthorisationStatus.PENDING).update(
        status=AuthorisationStatus.FAILED, error_code=code[:64], completed_at=timezone.now()
    )


def _complete(request: AuthorisationRequest, params: CallbackParams) -> AuthorisationOutcome:
    config = OAuth2Config.from_settings(request.auth_scheme_config.settings)
    check_issuer(request, config, params.iss)
    if params.error is not None:
        cancelled = params.error == "access_denied"
        message = (
            "The authorisation was cancelled."
            if cancelled
            else f"The provider refused the authorisation ({params.error})."
        )
        raise ProviderError(params.error, message, 400, description=params.error_description)
    if not params.code:  # pragma: no cover - callback_params_parse guarantees one
        raise PatchbayError("invalid_request", "The callback carries no code.", 400)

    client = request.client_credential
    check_client_id(client, request.client_id)
    client_data = client.data if isinstance(client.data, dict) else {}
    secret = client_data.get("clientSecret")
    try:
        certificate = mtls_certificate(config, request.organisation_id)
    except TokenRequestError as exc:
        raise TokenExchangeFailed(message=f"The code was not exchanged ({exc.reason}).") from None
    tokens = token_exchange(
        CodeExchange(
            token_url=token_url_for(config, client),
            client_id=request.client_id,
            client_secret=secret if isinstance(secret, str) else "",
            code=params.code,
            redirect_uri=request.redirect_uri,
            code_verifier=request.code_verifier if request.code_verifier else None,
            token_auth_method=config.token_auth_method,
            additional_params=p.parse_query(
                config.additional_token_params, "authSchemeConfig.additionalTokenParams"
            ),
            requested_scopes=list(request.scopes or []),
            scope_separator=config.scope_separator,
            client_certificate=certificate,
        )
    )
    connection, credential, created = connection_authorise(
        authorisation_request=request, tokens=tokens
    )
    return AuthorisationOutcome(
        organisation=request.organisation,
        connection=connection,
        credential=credential,
        created=created,
        authorisation_request=request,
    )
