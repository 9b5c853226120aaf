"""Small validators for untrusted text."""

from __future__ import annotations

import re
import uuid

#: The control characters refused in text (C0 and DEL), as a regular-expression class body
#: that Python and the OpenAPI document (ECMA-262) read alike.
CONTROL = r"\x00-\x1f\x7f"
#: The same without newline, carriage return and tab, for multiline text.
CONTROL_BUT_LINES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
#: Whitespace as ``str.isspace`` has it, for a class body: ECMA-262's ``\s`` lacks U+0085.
SPACE = r"\s\x85"
_CONTROL = re.compile(f"[{CONTROL}]")


def has_control_characters(value: str) -> bool:
    return bool(_CONTROL.search(value))


def text_pattern(*, multiline: bool = False, not_blank: bool = False) -> str:
    """The ``pattern`` of a text field in the document: no control characters (newlines and
    tabs allowed when ``multiline``) and, when ``not_blank``, one character that is not
    whitespace. The same classes as :func:`has_control_characters`, so the two agree."""
    control = CONTROL_BUT_LINES if multiline else CONTROL
    if not_blank:
        return f"^[^{control}]*[^{SPACE}{CONTROL}][^{control}]*$"
    return f"^[^{control}]*$"


#: A token (a scope, a name): no whitespace, no control character.
TOKEN_PATTERN = f"^[^{SPACE}{CONTROL}]+$"

#: A URL-encoded query string as ``parse_qsl(strict_parsing=True)`` reads it: ``name=value``
#: pairs joined by ``&``, no whitespace, control character or ``#``; or empty.
_QUERY_NAME = f"[^{SPACE}{CONTROL}#&=]*"
_QUERY_VALUE = f"[^{SPACE}{CONTROL}#&]*"
QUERY_PATTERN = f"^$|^{_QUERY_NAME}={_QUERY_VALUE}(&{_QUERY_NAME}={_QUERY_VALUE})*$"

#: A port as ``urlsplit(...).port`` reads it: empty, or 0 to 65535.
_PORT = "([0-9]{0,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
#: A URL the validator may accept: https, a host (a name or an IPv4 address) and a port,
#: then no whitespace, control character, ``@`` (user information) or ``#`` (a fragment).
#: ``core.validation.url_problem`` is the rule; it also takes an IPv6 host, and plain http
#: to loopback in development.
URL_PATTERN = rf"^https://[^{SPACE}{CONTROL}@#/?:]+(:{_PORT})?([/?][^{SPACE}{CONTROL}@#]*)?$"

#: Standard base64 with padding (RFC 4648 §4), as ``base64.b64decode(validate=True)`` reads
#: it: groups of four, the last one padded.
BASE64_PATTERN = r"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def parse_uuid(value: object) -> uuid.UUID | None:
    """The UUID in ``value``, or None for anything that is not one (never raises)."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
