"""Small validators for untrusted text."""

from __future__ import annotations

import re
import uuid

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control_characters(value: str) -> bool:
    return bool(_CONTROL.search(value))


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
