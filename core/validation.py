"""Validators for untrusted JSON input, collecting every problem with its field path.

Messages describe what is wrong, never the value: a rejected value may be a
secret (a client secret pasted into the wrong field), and error bodies and
logs must never contain secrets.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings

from core.errors import FieldError, PatchbayError
from core.outbound import is_loopback_host
from core.text import has_control_characters

MAX_LIST_ITEMS = 100
MAX_QUERY_BYTES = 4096
MAX_URL_LENGTH = 2048


class Problems:
    """Collects field errors; :meth:`raise_if_any` turns them into one 400."""

    def __init__(self) -> None:
        self.fields: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        self.fields.append(FieldError(path, message))

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self, code: str = "invalid_request") -> None:
        if not self.fields:
            return
        if len(self.fields) == 1:
            message = f"{self.fields[0].field}: {self.fields[0].message}"
        else:
            message = f"The request is not valid ({len(self.fields)} problems)."
        raise PatchbayError(code, message, 400, list(self.fields))


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_object(
    value: Any, path: str, problems: Problems, *, allowed: Collection[str] | None = None
) -> dict[str, Any] | None:
    """``value`` if it is a JSON object with only ``allowed`` keys, else None (problem noted)."""
    if not isinstance(value, dict):
        problems.add(path or "body", "Must be a JSON object.")
        return None
    if allowed is not None:
        for key in value:
            if key not in allowed:
                problems.add(join(path, key), "Unknown field.")
    return value


def json_object(value: Any, *, allowed: Collection[str] | None = None) -> dict[str, Any]:
    """A request body that must be a JSON object with only ``allowed`` keys, else one 400."""
    problems = Problems()
    body = check_object(value, "", problems, allowed=allowed)
    problems.raise_if_any()
    assert body is not None
    return body


def clean_text(
    value: Any,
    path: str,
    problems: Problems,
    *,
    max_length: int = 512,
    required: bool = False,
    multiline: bool = False,
) -> str | None:
    """A string without control characters (newlines and tabs allowed when ``multiline``)."""
    if value is None:
        if required:
            problems.add(path, "This field is required.")
        return None
    if not isinstance(value, str):
        problems.add(path, "Must be a string.")
        return None
    if required and not value.strip():
        problems.add(path, "Must not be empty.")
        return None
    if len(value) > max_length:
        problems.add(path, f"Must be at most {max_length} characters.")
        return None
    checked = value.replace("\n", "").replace("\r", "").replace("\t", "") if multiline else value
    if has_control_characters(checked):
        problems.add(path, "Must not contain control characters.")
        return None
    return value


def clean_bool(value: Any, path: str, problems: Problems) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        problems.add(path, "Must be true or false.")
        return None
    return value


def clean_int(
    value: Any, path: str, problems: Problems, *, minimum: int, maximum: int
) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(path, "Must be a whole number.")
        return None
    if not minimum <= value <= maximum:
        problems.add(path, f"Must be from {minimum} to {maximum}.")
        return None
    return value


def clean_choice(
    value: Any, path: str, problems: Problems, choices: Iterable[str], *, required: bool = False
) -> str | None:
    options = list(choices)
    if value is None:
        if required:
            problems.add(path, f"This field is required (one of {', '.join(options)}).")
        return None
    if not isinstance(value, str) or value not in options:
        problems.add(path, f"Must be one of {', '.join(options)}.")
        return None
    return value


def check_list(
    value: Any, path: str, problems: Problems, *, max_items: int, of: str = "strings"
) -> list[Any] | None:
    """``value`` if it is a list of at most ``max_items`` items, else None (problem noted)."""
    if not isinstance(value, list):
        problems.add(path, f"Must be a list of {of}.")
        return None
    if len(value) > max_items:
        problems.add(path, f"Must have at most {max_items} items.")
        return None
    return value


def clean_string_list(
    value: Any,
    path: str,
    problems: Problems,
    *,
    max_items: int = MAX_LIST_ITEMS,
    max_length: int = 256,
    no_whitespace: bool = False,
    choices: Collection[str] | None = None,
) -> list[str] | None:
    if value is None:
        return None
    if check_list(value, path, problems, max_items=max_items) is None:
        return None
    out: list[str] = []
    for index, item in enumerate(value):
        item_path = join(path, index)
        if choices is not None:
            choice = clean_choice(item, item_path, problems, choices)
            if choice is not None:
                out.append(choice)
            continue
        text = clean_text(item, item_path, problems, max_length=max_length, required=True)
        if text is None:
            continue
        if no_whitespace and any(ch.isspace() for ch in text):
            problems.add(item_path, "Must not contain whitespace.")
            continue
        out.append(text)
    return out


def clean_scopes(value: Any, path: str, problems: Problems) -> list[str] | None:
    """At most 100 scope tokens of at most 256 characters, no whitespace, duplicates dropped."""
    scopes = clean_string_list(value, path, problems, no_whitespace=True)
    return None if scopes is None else list(dict.fromkeys(scopes))


def clean_query_string(
    value: Any, path: str, problems: Problems, *, max_bytes: int = MAX_QUERY_BYTES
) -> str | None:
    """A URL-encoded query string (``a=1&b=2``) of at most ``max_bytes``."""
    text = clean_text(value, path, problems, max_length=max_bytes)
    if text is None or text == "":
        return text
    if len(text.encode()) > max_bytes:
        problems.add(path, f"Must be at most {max_bytes} bytes.")
        return None
    if any(ch.isspace() for ch in text) or "#" in text:
        problems.add(path, "Must be a URL-encoded query string (no spaces or '#').")
        return None
    try:
        parse_qsl(text, keep_blank_values=True, strict_parsing=True, max_num_fields=100)
    except ValueError:
        problems.add(path, "Must be a URL-encoded query string like a=1&b=2.")
        return None
    return text


def url_problem(url: str) -> str | None:
    """Why ``url`` may not name a provider endpoint, or None when it may.

    Absolute https URLs only; plain http only for loopback hosts and only when
    ``PATCHBAY_ALLOW_INSECURE_HTTP`` is on; no user information, no fragment.
    """
    if len(url) > MAX_URL_LENGTH:
        return f"Must be at most {MAX_URL_LENGTH} characters."
    if has_control_characters(url) or any(ch.isspace() for ch in url):
        return "Must not contain whitespace or control characters."
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return "Must be an absolute https URL."
    if parts.scheme not in ("https", "http") or not host:
        return "Must be an absolute https URL."
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "Must not contain user information."
    if "#" in url:
        return "Must not contain a fragment."
    if parts.scheme == "http" and not (
        settings.PATCHBAY_ALLOW_INSECURE_HTTP and is_loopback_host(host)
    ):
        return "Must use https (http is only accepted for loopback hosts in development)."
    return None


def clean_url(value: Any, path: str, problems: Problems, *, required: bool = False) -> str | None:
    text = clean_text(value, path, problems, max_length=MAX_URL_LENGTH, required=required)
    if text is None or text == "":
        return text
    problem = url_problem(text)
    if problem is not None:
        problems.add(path, problem)
        return None
    return text


def clean_datetime(value: Any, path: str, problems: Problems) -> datetime | None:
    """An ISO 8601 timestamp with a timezone, as an aware UTC datetime."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        problems.add(path, "Must be an ISO 8601 date-time string.")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        problems.add(path, "Must be an ISO 8601 date-time like 2030-01-31T12:00:00Z.")
        return None
    if parsed.tzinfo is None:
        problems.add(path, "Must include a timezone (e.g. a trailing Z).")
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past the year 9999 in UTC
        problems.add(path, "Must be a date-time between the years 1 and 9999 in UTC.")
        return None


def clean_base64(
    value: Any, path: str, problems: Problems, *, max_length: int, required: bool = False
) -> str | None:
    """Standard base64 (RFC 4648 §4) with padding."""
    text = clean_text(value, path, problems, max_length=max_length, required=required)
    if text is None:
        return None
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        problems.add(path, "Must be base64 (standard alphabet, with padding).")
        return None
    return text
