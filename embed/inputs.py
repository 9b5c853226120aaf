"""What the hub, end user and session API and the embed API accept (SPEC §8): one
declaration per body, the source of its validation and of its OpenAPI schema.

Several bodies keep the wording they had before they were declared here (``body_message``,
unknown keys named by their first 64 characters). What needs the database — a connector
of the organisation, which secret a connector's auth scheme wants, a name already taken —
is the services' to check.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from rest_framework import serializers
from rest_framework.fields import SkipField

from core.outbound import is_loopback_host
from core.text import has_control_characters
from core.validation import url_problem
from core.wire import Bool, Input, Jwks, Text, Url, Uuid, WireField
from embed.models import DEFAULT_ACCENT_COLOR

MAX_ORIGINS = 20
MAX_RETURN_URLS = 20
MAX_HUB_CONNECTORS = 100
_ACCENT = re.compile(r"#[0-9a-fA-F]{6}")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_NON_EMPTY = "Required: a non-empty string."


def origin_problem(value: str) -> str | None:
    """Why ``value`` is not an exact web origin a hub may allow, or None.

    ``scheme://host[:port]`` and nothing else: no path (not even ``/``), query,
    fragment, user information or wildcard; https (plain http only for loopback hosts
    with ``PATCHBAY_ALLOW_INSECURE_HTTP``); an ASCII host (IDNs in punycode), lower case,
    no default port — the exact string a browser puts in ``event.origin``.
    """
    if len(value) > 300:
        return "Must be at most 300 characters."
    if has_control_characters(value) or any(ch.isspace() for ch in value):
        return "Must not contain whitespace or control characters."
    if not value.isascii():
        return "Must be ASCII (write internationalised hosts in punycode)."
    if "*" in value:
        return "Wildcards are not allowed: list each origin exactly."
    try:
        parts = urlsplit(value)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "Must be an origin like https://app.example.com."
    if parts.scheme not in ("https", "http") or not host or "//" not in value:
        return "Must be an origin like https://app.example.com."
    if "@" in parts.netloc:
        return "Must not contain user information."
    if parts.path or parts.query or parts.fragment or value.endswith(("?", "#")):
        return "Must be an origin only: no path, trailing slash, query or fragment."
    if parts.scheme == "http" and not (
        settings.PATCHBAY_ALLOW_INSECURE_HTTP and is_loopback_host(host)
    ):
        return "Must use https (http is only accepted for loopback hosts in development)."
    if port is not None and port == _DEFAULT_PORTS[parts.scheme]:
        return "Leave out the default port."
    if value != value.lower():
        return "Must be lower case, as browsers report origins."
    # What a browser would report for it: catches an empty port ("host:") or a port with
    # leading zeros (":08443"), which urlsplit accepts but no event.origin ever equals.
    shown = f"[{host}]" if ":" in host else host
    if value != f"{parts.scheme}://{shown}" + (f":{port}" if port is not None else ""):
        return "Must be an origin exactly as browsers report it, like https://app.example.com:8443."
    return None


# --- Fields ---------------------------------------------------------------------------


class _UrlList(WireField, serializers.ListField):
    """At most ``limit`` non-empty strings each passing ``problem``; duplicates dropped."""

    def __init__(self, *, limit: int, origins: bool, **kwargs: Any) -> None:
        self.limit = limit
        self.problem = origin_problem if origins else url_problem
        child = serializers.CharField(max_length=300) if origins else serializers.URLField()
        super().__init__(child=child, max_length=limit, required=False, **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list):
            raise serializers.ValidationError("Must be a list of strings.")
        if len(data) > self.limit:
            raise serializers.ValidationError(f"Must have at most {self.limit} items.")
        out: list[str] = []
        errors: dict[Any, list[str]] = {}
        for index, item in enumerate(data):
            if not isinstance(item, str) or not item:
                errors[index] = ["Must be a non-empty string."]
            elif (problem := self.problem(item)) is not None:
                errors[index] = [problem]
            elif item not in out:
                out.append(item)
        if errors:
            raise serializers.ValidationError(errors)
        return out


class _ConnectorIds(WireField, serializers.ListField):
    """A list of at most 100 strings; whether they name the organisation's connectors is a
    lookup (404), not a problem of the body."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.CharField(), max_length=MAX_HUB_CONNECTORS, required=False, **kwargs
        )

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list) or not all(isinstance(c, str) for c in data):
            raise serializers.ValidationError("Must be a list of connector ids.")
        if len(data) > MAX_HUB_CONNECTORS:
            raise serializers.ValidationError(f"Must have at most {MAX_HUB_CONNECTORS} items.")
        return list(data)


class _AccentColor(WireField, serializers.CharField):
    """``#rrggbb``, stored in lower case; ``null`` is the default colour."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, null_as=DEFAULT_ACCENT_COLOR, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        return serializers.Field.run_validation(self, data)

    def schema_facts(self) -> dict[str, Any]:
        return {"pattern": f"^{_ACCENT.pattern}$"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not _ACCENT.fullmatch(data):
            raise serializers.ValidationError("Must be a colour like #1a2b3c.")
        return data.lower()


class _FormSecret(WireField, serializers.CharField):
    """A write-only non-empty string; its length and characters are the credential type's
    to check (see :func:`embed.services.embed_connection_create`)."""

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("required"):
            kwargs.setdefault("required_message", _NON_EMPTY)
            kwargs.setdefault("null_message", _NON_EMPTY)
        super().__init__(write_only=True, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        return serializers.Field.run_validation(self, data)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not data:
            raise serializers.ValidationError(_NON_EMPTY)
        return data


class _Unchanged(WireField, serializers.CharField):
    """A key that may be sent back only with the value the object already has."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, null_message="Cannot be changed.", **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        return serializers.Field.run_validation(self, data)

    def to_internal_value(self, data: Any) -> Any:
        if data != getattr(self.root.instance, str(self.source)):
            raise serializers.ValidationError("Cannot be changed.")
        raise SkipField()  # nothing to change


# --- Hubs -------------------------------------------------------------------------------


class _Quirks(Input):
    """The wording hubs, end users and sessions answered with before this module."""

    body_message: ClassVar[str | None] = "The body must be a JSON object."
    unknown_key_length = 64


class Branding(_Quirks):
    title = Text(
        max_length=200, required=False, null_as="", source="branding_title",
        help_text="Empty: the hub's name.",
    )  # fmt: skip
    logoUrl = Url(
        required=False, allow_blank=True, null_as="", source="branding_logo_url",
        help_text="An https URL, or empty.",
    )  # fmt: skip
    accentColor = _AccentColor(
        source="branding_accent_color", help_text="`#rrggbb`; null: the default colour."
    )


_SIGNING_KEYS = (
    "The company's public keys (a JWKS) that verify the end-user tokens it signs for the "
    "widget (`sub`: the end user's externalId, `aud`: the hub id); null or no keys: minted "
    "connect sessions only. PATCH replaces the whole set."
)


class Hub(_Quirks):
    """A hub: what an organisation embeds. PATCH replaces `connectors` as a whole."""

    echo = frozenset({"id", "createdAt", "updatedAt"})

    name = Text(max_length=200, required=True)
    allowedOrigins = _UrlList(
        limit=MAX_ORIGINS,
        origins=True,
        source="allowed_origins",
        help_text="Exact origins allowed to frame the widget, e.g. `https://app.example.com`.",
    )
    returnUrls = _UrlList(limit=MAX_RETURN_URLS, origins=False, source="return_urls")
    branding = Branding(
        required=False, not_object="Must be an object {title, logoUrl, accentColor}."
    )
    connectors = _ConnectorIds(
        source="connector_ids", help_text="Ids of the organisation's connectors the hub offers."
    )
    signingKeys = Jwks(
        required=False,
        source="signing_keys",
        help_text=_SIGNING_KEYS,
    )

    def to_internal_value(self, data: Any) -> Any:
        """The hub's values as the services name them: ``branding_title``, not nested."""
        values = dict(super().to_internal_value(data))
        values.update(values.pop("branding", {}))
        return values


# --- End users and sessions ---------------------------------------------------------------


class EndUserCreate(Input):
    """An end user of a hub. `externalId` is unique in the hub and cannot change."""

    component = "EndUser"

    externalId = Text(max_length=200, required=True, source="external_id")
    displayName = Text(max_length=200, required=False, source="display_name")


class EndUserUpdate(_Quirks):
    """An end user of a hub. `externalId` is unique in the hub and cannot change."""

    component = "EndUser"
    echo = frozenset({"id", "createdAt", "updatedAt"})

    externalId = _Unchanged(
        max_length=200, source="external_id", help_text="May be sent only unchanged."
    )
    displayName = Text(max_length=200, required=False, null_as="", source="display_name")


class SessionEndUser(_Quirks):
    externalId = Text(max_length=200, required=True, source="external_id")
    displayName = Text(
        max_length=200, required=False, source="display_name",
        help_text="Replaces the stored one when given.",
    )  # fmt: skip


_END_USER = "Required: {externalId, displayName}."


class SessionRequest(_Quirks):
    """The end user is created on first use."""

    endUser = SessionEndUser(
        source="end_user", required_message=_END_USER, null_message=_END_USER, not_object=_END_USER
    )


# --- The embed API ------------------------------------------------------------------------

_BASIC = "Required: {username, password}."
_VERIFY = (
    "Check the secret with the connector's `verification` request first (SPEC §9.2): "
    "refused → 400 `credential_invalid`, nothing stored."
)


class EmbedBasicAuth(_Quirks):
    body_message = None
    username = Text(required=False)
    password = _FormSecret(required=True, help_text="Secret: write-only.")


class EmbedConnectionCreate(Input):
    """`apiKey` for an api-key config, `basicAuth` for a basic-auth one: stored in a
    credential owned by the connection, write-only."""

    connectorId = Text(required=True, source="connector_id")
    authSchemeConfigId = Text(
        max_length=100, required=False, source="config_id",
        help_text="Default: the first api-key/basic-auth one.",
    )  # fmt: skip
    name = Text(max_length=200, required=False)
    apiKey = _FormSecret(required=False, source="api_key", help_text="Secret.")
    basicAuth = EmbedBasicAuth(required=False, source="basic_auth", not_object=_BASIC)
    verify = Bool(required=False, default=False, help_text=_VERIFY)


class EmbedConnectionUpdate(Input):
    """Replace the secret of a form connection (reconnect)."""

    apiKey = _FormSecret(required=False, source="api_key", help_text="Secret.")
    basicAuth = EmbedBasicAuth(required=False, source="basic_auth", not_object=_BASIC)
    verify = Bool(required=False, default=False, help_text=_VERIFY)


class FlowBind(Input):
    """``POST /embed/flow/bind``: the start page trades a flow's one-time secret for the
    cookie that binds the flow to this browser."""

    authorisationId = Uuid(required=True)
    secret = Text(max_length=200, required=True)
