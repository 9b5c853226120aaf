"""``verification`` on an auth scheme config (SPEC §9.2): the request that tells whether a
connection's credentials work — ``{method: GET|HEAD|POST, path, expectedStatus: [int]}``,
sent to the connection's (else the connector's) ``baseUrl`` joined with ``path``.

``expectedStatus`` empty or absent means any 2xx (200-299)."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from core.text import CONTROL, SPACE, has_control_characters
from core.wire import Choice, Input, Int, Text, WireField

VERIFICATION_METHODS = ("GET", "HEAD", "POST")
MAX_EXPECTED_STATUSES = 20
_SEGMENT_DOTS = re.compile(r"(^|/)\.\.?(/|$)")


class VerificationPath(Text):
    """A path below the base URL (``/me``, ``/v1/account?fields=id``): starts with one
    ``/``, no ``.``/``..`` segment (raw or percent-encoded), backslash, fragment or space."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=2048, required=True, **kwargs)

    def schema_facts(self) -> dict[str, Any]:
        allowed = f"[^{SPACE}{CONTROL}\\\\#"
        return {"pattern": f"^/({allowed}/]{allowed}]*)?$"}

    def to_internal_value(self, data: Any) -> Any:
        text = super().to_internal_value(data)
        path = text.split("?", 1)[0]
        decoded = re.sub("%2e", ".", re.sub("%2f", "/", path, flags=re.I), flags=re.I)
        if not text.startswith("/") or text.startswith("//"):
            raise serializers.ValidationError("Must start with a single '/' (a path, not a URL).")
        if _SEGMENT_DOTS.search(decoded) or "\\" in text or "%5c" in text.lower():
            raise serializers.ValidationError("Must not climb out of the base URL ('..', '\\').")
        if "#" in text or any(c.isspace() for c in text) or has_control_characters(text):
            raise serializers.ValidationError("Must not contain a fragment, spaces or controls.")
        return text


class StatusList(WireField, serializers.ListField):
    """HTTP status codes (100-599), none twice."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=Int(minimum=100, maximum=599),
            max_length=MAX_EXPECTED_STATUSES,
            **kwargs,
        )

    def schema_facts(self) -> dict[str, Any]:
        return {"uniqueItems": True}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, list):
            raise serializers.ValidationError("Must be a list of HTTP status codes.")
        if len(data) > MAX_EXPECTED_STATUSES:
            raise serializers.ValidationError(
                f"Must have at most {MAX_EXPECTED_STATUSES} status codes."
            )
        if any(isinstance(x, bool) or not isinstance(x, int) or not 100 <= x <= 599 for x in data):
            raise serializers.ValidationError("Each must be an HTTP status code (100-599).")
        if len(set(data)) != len(data):
            raise serializers.ValidationError("Must not repeat a status code.")
        return list(data)


class Verification(Input):
    """How to check that a connection's credentials work (SPEC §9.2)."""

    method = Choice(VERIFICATION_METHODS, required=False, default="GET", null_as="GET")
    path = VerificationPath(help_text="Joined to the connection's (else connector's) baseUrl.")
    expectedStatus = StatusList(
        required=False,
        default=list,
        null_as=list,
        help_text="Statuses that mean valid; empty (the default): any 2xx.",
    )


def expected(verification: dict[str, Any], status: int) -> bool:
    """Whether ``status`` is one ``verification`` counts as valid."""
    statuses = verification.get("expectedStatus") or []
    return status in statuses if statuses else 200 <= status <= 299
