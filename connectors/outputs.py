"""What the connectors API answers (SPEC §4): one declaration per object, rendered by
:meth:`core.wire.Output.render` and documented from the same classes.

An auth scheme config's settings are rendered from their input declarations
(:mod:`connectors.schemes`): the declared keys the stored settings hold, write-only ones
(``grant.*.clientSecret``, ``consumerSecret``) never — they are not stored there either.
"""

from __future__ import annotations

from typing import Any

from connectors import models
from connectors.inputs import CONFIG_ID_HELP
from connectors.schemes import SETTINGS, TYPED_KEYS, validation_messages, variant
from connectors.schemes.verification import Verification
from core.openapi import paginated
from core.wire import (
    Choice,
    Computed,
    Nested,
    OneOfOutput,
    Output,
    StringList,
    Text,
    Timestamp,
    Uuid,
)


class ValidationMessage(Output):
    text = Text()
    severity = Choice(("info", "warning", "error"))
    detail = StringList()


def _validation_messages(config: models.AuthSchemeConfig) -> list[dict[str, Any]]:
    """Computed once per config instance and settings object: a config shared by many
    links of a list (``connections.selectors`` makes it one instance) pays once."""
    memo = config.__dict__.get("_validation_messages")
    if memo is None or memo[0] is not config.settings or memo[1] != config.type:
        memo = (config.settings, config.type, validation_messages(config.type, config.settings))
        config.__dict__["_validation_messages"] = memo
    return memo[2]


def _variant(kind: str) -> type[Output]:
    return variant(
        kind,
        Output,
        __name__,
        id=Text(source="config_id", max_length=100, help_text=CONFIG_ID_HELP),
        type=Choice((kind,)),
        description=Text(max_length=1000),
        validationMessages=Computed(
            "validation_messages",
            ValidationMessage(many=True, help_text="Computed by the server; ignored on input."),
        ),
        validation_messages=staticmethod(_validation_messages),
        verification=Nested(Verification, required=False, help_text="Absent: not configured."),
        **{TYPED_KEYS[kind]: Nested(SETTINGS[kind], source="settings")},
    )


class AuthSchemeConfig(OneOfOutput):
    variants = {str(kind): _variant(kind) for kind in TYPED_KEYS}


class Connector(Output):
    """A connector with its auth scheme configs (SPEC §4)."""

    # Read through connectors.selectors (configs prefetched): the query count stays fixed.

    id = Uuid(source="pk")
    name = Text(max_length=200, help_text="Unique in the organisation.")
    baseUrl = Text(source="base_url", max_length=2048)
    authSchemeConfigs = AuthSchemeConfig(many=True, source="auth_scheme_configs")
    createdAt = Timestamp(source="created_at")
    updatedAt = Timestamp(source="updated_at")


ConnectorPage = paginated("ConnectorPage", Connector())
