"""What the connectors API accepts (SPEC §4): one declaration per body, the source of its
validation and of its OpenAPI schema.

``AuthSchemeConfig`` is a ``oneOf`` by ``type``: each variant carries exactly one typed key
named after its type (``apiKey`` for ``api-key`` ...) whose settings are declared in
:mod:`connectors.schemes`. A config parses to a :class:`~connectors.schemes.CleanScheme`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast

from rest_framework import serializers

from connectors.schemes import (
    MAX_AUTH_SCHEME_CONFIGS,
    REQUIRED_SETTINGS,
    SETTINGS,
    TYPED_KEYS,
    CleanScheme,
    Settings,
    clean_config_id,
    variant,
)
from connectors.schemes.base import BlankText, BlankUrl, ConfigId, ProviderUrl
from connectors.schemes.verification import Verification
from core.errors import FieldError
from core.validation import Problems
from core.wire import Choice, Input, ListOf, Nested, OneOf, Text, invalid_request

CONFIG_ID_HELP = (
    "Chosen by the client, unique within the connector (generated when omitted in "
    "`authSchemeConfigs`; the path's in PUT)."
)
# Seed 004 nests id/description/validationMessages inside the typed object;
# SPEC puts them at the top level. Both are accepted on input.
_SEED_NESTED = ("id", "description", "validationMessages")


class _AuthSchemeConfig(Input):
    """One type's config: ``kind``, its typed ``key`` and its ``settings`` declaration."""

    kind: ClassVar[str]
    key: ClassVar[str]
    settings: ClassVar[type[Settings]]
    raw: Any = None

    def to_internal_value(self, data: Any) -> Any:
        self.raw = data
        if isinstance(data, Mapping):
            # Left out, the typed key is `{}`; given as null it is refused (Nested's rule).
            typed = data.get(self.key, {})
            if isinstance(typed, Mapping):
                lifted = {name: typed[name] for name in ("id", "description") if name in typed}
                inner = {k: value for k, value in typed.items() if k not in _SEED_NESTED}
                data = {**lifted, **data, self.key: inner}
        try:
            return super().to_internal_value(data)
        finally:
            self.raw = None  # this parser is used again: it keeps no body

    def check(self, data: Mapping[str, Any], values: dict[str, Any]) -> Mapping[str, Any]:
        raw = self.raw
        problems: dict[str, Any] = {
            other: [f"Only '{self.key}' may be set for type '{self.kind}'."]
            for other in TYPED_KEYS.values()
            if other != self.key and raw.get(other) is not None
        }
        typed = raw.get(self.key)
        if isinstance(typed, Mapping) and "id" in raw and typed.get("id", raw["id"]) != raw["id"]:
            problems[self.key] = {"id": ["Must equal the config's id."]}
        return problems

    def validate(self, attrs: dict[str, Any]) -> CleanScheme:
        scheme = CleanScheme(
            config_id=attrs.get("id"),
            type=self.kind,
            description=attrs.get("description") or "",
            settings={},
            verification=attrs.get("verification"),
        )
        self.settings.extract(attrs[self.key], self.key, scheme)
        return scheme


def _variant(kind: str) -> type[_AuthSchemeConfig]:
    key = TYPED_KEYS[kind]
    return variant(
        kind,
        _AuthSchemeConfig,
        __name__,
        kind=kind,
        key=key,
        settings=SETTINGS[kind],
        echo=frozenset({"validationMessages", *TYPED_KEYS.values()} - {key}),
        # The other types' keys, as a response has them: null (check() refuses a value).
        echo_schemas={
            other: {
                "nullable": True,
                "enum": [None],
                "description": f"Only null: the settings of type {kind!r} are in {key!r}.",
            }
            for other in TYPED_KEYS.values()
            if other != key
        },
        id=ConfigId(required=False, help_text=CONFIG_ID_HELP),
        type=Choice((kind,), required=True),
        description=BlankText(max_length=1000),
        verification=Nested(
            Verification,
            required=False,
            allow_null=True,
            null_message=None,  # null is "not configured", as the output says it
            help_text="SPEC §9.2: the request that checks a connection's credentials.",
        ),
        # On input the typed key may be omitted (`{}`); on output it is always present.
        **{key: Nested(SETTINGS[kind], required=kind in REQUIRED_SETTINGS)},
    )


class AuthSchemeConfig(OneOf):
    variants = {str(kind): _variant(kind) for kind in TYPED_KEYS}


class AuthSchemeConfigs(ListOf):
    """A connector's whole list of configs, ids unique (generated later when omitted)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            AuthSchemeConfig(),
            max_items=MAX_AUTH_SCHEME_CONFIGS,
            message="Must be a list of auth scheme configs.",
            too_many=f"Must have at most {MAX_AUTH_SCHEME_CONFIGS} configs.",
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> Any:
        schemes: list[CleanScheme] = super().to_internal_value(data)
        seen: set[str] = set()
        taken: dict[int, Any] = {}
        for index, scheme in enumerate(schemes):
            if scheme.config_id is not None and scheme.config_id in seen:
                taken[index] = {"id": ["Must be unique within the connector."]}
            seen.add(scheme.config_id or "")
        if taken:
            raise serializers.ValidationError(cast(Any, taken))
        return [s.at(f"{self.field_name}[{index}]") for index, s in enumerate(schemes)]


class Name(Text):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=200, help_text="Unique in the organisation.", **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(data).strip()


_ECHO = frozenset({"id", "createdAt", "updatedAt"})


class ConnectorCreate(Input):
    """A new connector with its auth scheme configs (SPEC §4). The read-only fields of a
    connector (`id`, `createdAt`, `updatedAt`) are accepted and ignored."""

    echo = _ECHO
    name = Name(
        required=True,
        required_message="Must not be empty.",
        null_message="This field is required.",
    )
    baseUrl = BlankUrl(source="base_url")
    authSchemeConfigs = AuthSchemeConfigs(
        source="auth_scheme_configs", required=False, default=list
    )


class ConnectorUpdate(Input):
    """A change to a connector: `authSchemeConfigs`, when given, replaces the whole list
    (configs are created or replaced by id, those left out are deleted)."""

    echo = _ECHO
    name = Name(required=False, allow_blank=False, null_message="This field is required.")
    baseUrl = ProviderUrl(source="base_url", required=False, null_as="")
    authSchemeConfigs = AuthSchemeConfigs(source="auth_scheme_configs", required=False)


def auth_scheme_config_put_body(*, config_id: str, data: Any) -> CleanScheme:
    """The config a PUT names by ``config_id`` in the path: the id is checked first, then
    the body, whose ``id`` (if any) must be the same."""
    problems = Problems()
    clean_config_id(config_id, "id", problems)
    problems.raise_if_any()
    scheme: CleanScheme = AuthSchemeConfig.parse(data)
    if scheme.config_id is not None and scheme.config_id != config_id:
        raise invalid_request([FieldError("id", "Must equal the id in the path.")])
    scheme.config_id = config_id
    return scheme
