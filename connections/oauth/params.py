"""Validation of the untrusted text an OAuth 2.0 flow handles: URLs, scopes, query strings.

Pure functions, no database: initialise runs them before its first query.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings

from core.errors import FieldError, PatchbayError, invalid
from core.outbound import is_loopback_host
from core.text import has_control_characters

MAX_URL_LENGTH = 2048
MAX_SCOPES = 100
MAX_SCOPE_LENGTH = 256
MAX_ADDITIONAL_PARAMS_BYTES = 4096
MAX_QUERY_FIELDS = 100

# Authorize-request parameters Patchbay sets itself; nobody may override them.
# `prompt` joins them whenever Patchbay sends a prompt.
RESERVED_AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)
# Token-request parameters Patchbay sets itself.
RESERVED_TOKEN_PARAMS = (
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "client_secret",
    "code_verifier",
)

_WHITESPACE = re.compile(r"\s")
_PROMPT_TOKEN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_PROMPT_SPLIT = re.compile(r"[+\s]+")


def check_provider_url(url: str, field: str) -> str:
    """An authorize/token URL Patchbay may send people or requests to (SPEC §5.1).

    https only (plain http to loopback hosts with ``PATCHBAY_ALLOW_INSECURE_HTTP``), a
    host, no user information, no fragment: ``javascript:``, ``data:`` and the like fail
    the scheme test.
    """
    if not url:
        raise invalid(field, "A URL is required.")
    if len(url) > MAX_URL_LENGTH:
        raise invalid(field, f"URLs are limited to {MAX_URL_LENGTH} characters.")
    if has_control_characters(url) or _WHITESPACE.search(url):
        raise invalid(field, "The URL contains whitespace or control characters.")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise invalid(field, "The URL is malformed.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise invalid(field, "Only https URLs are accepted.", code="insecure_url")
    if not hostname:
        raise invalid(field, "The URL has no host.")
    if "@" in parts.netloc:
        raise invalid(field, "URLs with user information are refused.")
    if parts.fragment or "#" in url:
        raise invalid(field, "URLs with a fragment are refused.")
    if scheme == "http" and not (
        settings.PATCHBAY_ALLOW_INSECURE_HTTP and is_loopback_host(hostname)
    ):
        raise invalid(field, "Only https URLs are accepted.", code="insecure_url")
    return url


def check_redirect_url(url: str, allowed: Iterable[str], field: str = "redirectUrl") -> str:
    """A redirect URI: listed exactly by the organisation, or a loopback URL (RFC 8252 §7.3)
    when ``PATCHBAY_ALLOW_LOOPBACK_REDIRECTS`` is on (by default only with ``DEBUG``)."""
    if len(url) > MAX_URL_LENGTH or has_control_characters(url) or _WHITESPACE.search(url):
        raise invalid(field, "The redirect URL is malformed.")
    if url in set(allowed):
        return url
    try:
        parts = urlsplit(url)
        hostname = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise invalid(field, "The redirect URL is malformed.") from exc
    if (
        settings.PATCHBAY_ALLOW_LOOPBACK_REDIRECTS
        and parts.scheme in ("http", "https")
        and is_loopback_host(hostname)
        and "@" not in parts.netloc
        and not parts.fragment
        and "#" not in url
    ):
        return url
    raise invalid(
        field,
        "The redirect URL is neither one of the organisation's allowed redirect URLs "
        "nor a loopback URL."
        if settings.PATCHBAY_ALLOW_LOOPBACK_REDIRECTS
        else "The redirect URL is not one of the organisation's allowed redirect URLs "
        "(loopback URLs are accepted only when they are listed there on this server).",
        code="redirect_url_not_allowed",
    )


def parse_query(
    text: str, field: str, limit: int = MAX_ADDITIONAL_PARAMS_BYTES
) -> list[tuple[str, str]]:
    """A URL-encoded query string (``a=1&b=2``) as pairs, or a 400 naming ``field``."""
    if not text:
        return []
    if len(text.encode()) > limit:
        raise invalid(field, f"Limited to {limit} bytes.")
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            max_num_fields=MAX_QUERY_FIELDS,
            errors="strict",
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(field, "Not a URL-encoded query string.") from exc
    for name, value in pairs:
        if not name or has_control_characters(name) or has_control_characters(value):
            raise invalid(field, "Parameter names must be non-empty, without control characters.")
    return pairs


def param_key(name: str) -> str:
    """The parameter a provider will take ``name`` for, to compare with reserved names.

    Providers' query parsers differ, so this folds every reading we know of into one:
    surrounding whitespace dropped (Unicode's too), letter case folded, compatibility
    forms unified (fullwidth letters), PHP's spaces and dots read as ``_``, and what follows a
    ``[`` dropped (``state[]`` is ``state`` to PHP, Rails and Express). A name that one
    of them would read as a parameter Patchbay sets is refused, whichever one is behind
    the URL.
    """
    key = unicodedata.normalize("NFKC", name).strip().casefold()
    key = key.split("[", 1)[0].strip()
    return re.sub(r"[\s.]", "_", key)


def refuse_reserved(
    pairs: Iterable[tuple[str, str]], reserved: Iterable[str], field: str, *, what: str
) -> None:
    """400 ``conflicting_params`` when ``pairs`` name a reserved parameter, read as a
    provider reads it (:func:`param_key`: any letter case, stray whitespace, ``[]``)."""
    wanted = {param_key(name) for name in reserved}
    clashes = sorted({name for name, _ in pairs if param_key(name) in wanted})
    if clashes:
        shown = [_shown(name) for name in clashes]
        raise PatchbayError(
            "conflicting_params",
            f"{what} may not set parameters Patchbay sets itself: {', '.join(shown)}.",
            400,
            [FieldError(field, f"Conflicts with Patchbay's own `{name}`.") for name in shown],
        )


def _shown(name: str) -> str:
    """The name as sent, quoted when whitespace or look-alikes would hide what it is."""
    return name if name.isascii() and name.isprintable() and name == name.strip() else repr(name)


def check_scopes(scopes: list[str], separator: str, field: str) -> list[str]:
    """Scopes: at most 100, each 1-256 characters without whitespace or the separator."""
    if len(scopes) > MAX_SCOPES:
        raise invalid(field, f"At most {MAX_SCOPES} scopes.")
    for index, scope in enumerate(scopes):
        where = f"{field}[{index}]"
        if not isinstance(scope, str) or not scope:
            raise invalid(where, "Scopes are non-empty strings.")
        if len(scope) > MAX_SCOPE_LENGTH:
            raise invalid(where, f"Scopes are at most {MAX_SCOPE_LENGTH} characters.")
        if has_control_characters(scope) or _WHITESPACE.search(scope) or separator in scope:
            raise invalid(where, "Scopes may not contain whitespace or the scope separator.")
    return scopes


def dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def parse_prompt(prompt: str, field: str = "prompt") -> str:
    """``consent+select_account`` or ``consent select_account`` → ``consent select_account``.

    Joined by spaces, the value encodes as ``consent+select_account`` in the URL.
    """
    tokens = [token for token in _PROMPT_SPLIT.split(prompt.strip()) if token]
    if not tokens or len(tokens) > 10:
        raise invalid(field, "prompt names one to ten values.")
    for token in tokens:
        if not _PROMPT_TOKEN.match(token):
            raise invalid(field, "prompt values are letters, digits, '_', '-' or '.'.")
    return " ".join(dedupe(tokens))


def has_param(pairs: Iterable[tuple[str, str]], name: str) -> bool:
    return any(param_key(key) == name for key, _ in pairs)
