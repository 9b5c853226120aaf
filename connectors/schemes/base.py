"""What every auth scheme type shares: the typed keys, the clean scheme a config parses to,
and the field kinds of its settings (SPEC §4 AuthSchemeConfig)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.fields import empty

from connectors.models import AuthSchemeType
from core import validation as v
from core.text import has_control_characters
from core.validation import Problems, join
from core.wire import Input, ListOf, StringList, Text, Url, WireField, cleaned, url_facts

TYPED_KEYS: dict[str, str] = {
    AuthSchemeType.NONE: "none",
    AuthSchemeType.API_KEY: "apiKey",
    AuthSchemeType.BASIC_AUTH: "basicAuth",
    AuthSchemeType.OAUTH2: "oauth2",
    AuthSchemeType.OAUTH1: "oauth1",
    AuthSchemeType.HMAC: "hmac",
    AuthSchemeType.CERTIFICATE: "certificate",
}

MAX_AUTH_SCHEME_CONFIGS = 20

CONFIG_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
# RFC 9110 token: what a header, query or cookie parameter name may safely be.
PARAM_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")
ENUM_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
ID_MAX = 64


@dataclass(frozen=True)
class GrantClient:
    """An oauth2 grant written with ``clientId`` + ``clientSecret`` and no ``credentialId``:
    the service stores them in a new ``oauth2-client`` credential."""

    grant: str
    client_id: str
    client_secret: str = field(repr=False)
    path: str
    organisation_id: str | None = None


@dataclass(frozen=True)
class CredentialRef:
    """A credential a config names; the service checks it exists in the organisation."""

    path: str
    credential_id: str
    organisation_id: str | None = None
    required_type: str | None = None
    grant: str | None = None
    client_id: str | None = None


@dataclass
class CleanScheme:
    """A parsed auth scheme config: ``settings`` is the camelCase typed object with defaults
    filled in and write-only secrets removed. Paths are relative to the config object until
    :meth:`at` places them in a body."""

    config_id: str | None
    type: str
    description: str
    settings: dict[str, Any]
    # Write-only values for AuthSchemeConfig.secrets; None means "none given"
    # (a replace keeps the stored ones).
    secrets: dict[str, Any] | None = None
    grant_clients: list[GrantClient] = field(default_factory=list)
    credential_refs: list[CredentialRef] = field(default_factory=list)
    verification: dict[str, Any] | None = None  # SPEC §9.2, None: not configured

    def at(self, prefix: str) -> CleanScheme:
        """The same scheme with its paths under ``prefix`` (``authSchemeConfigs[2]``)."""
        if not prefix:
            return self
        return replace(
            self,
            grant_clients=[replace(c, path=join(prefix, c.path)) for c in self.grant_clients],
            credential_refs=[replace(r, path=join(prefix, r.path)) for r in self.credential_refs],
        )


class Settings(Input):
    """The settings of one type; :meth:`extract` moves what is not stored as settings
    (write-only secrets, credential references) into the clean scheme."""

    @classmethod
    def extract(cls, values: dict[str, Any], path: str, out: CleanScheme) -> None:
        out.settings = dict(values)


def empty_settings(kind: str, key: str) -> type[Settings]:
    """``none``, ``basicAuth`` and ``certificate``: no settings, always ``{}``."""
    camel = key[0].upper() + key[1:]
    return type(
        f"{camel}Settings",
        (Settings,),
        {
            "__module__": __name__,
            "__doc__": f"Type `{kind}` has no settings: always `{{}}`.",
            "unknown_message": f"Type '{kind}' has no settings.",
        },
    )


# --- field kinds ------------------------------------------------------------------------


def clean_config_id(value: Any, path: str, problems: Problems) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not CONFIG_ID_RE.match(value):
        problems.add(
            path,
            "Must be 1-100 characters: letters, digits, '_', '.', ':' or '-', "
            "starting with a letter or digit.",
        )
        return None
    return value


def clean_id_ref(value: Any, path: str, problems: Problems) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > ID_MAX or has_control_characters(value):
        problems.add(path, "Must be an id string.")
        return None
    return value


class ConfigId(Text):
    """A config's client-chosen id."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_length=100,
            allow_blank=False,
            validators=[RegexValidator(CONFIG_ID_RE)],
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: clean_config_id(data, "", p))


class IdRef(Text):
    """The id of a credential or organisation; ``""`` reads as none."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=ID_MAX, **kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data == "":
            return True, None
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: clean_id_ref(data, "", p))


class ParamName(Text):
    """A header, query or cookie parameter name (an RFC 9110 token)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=256, required=True, **kwargs)

    def schema_facts(self) -> dict[str, Any]:
        return {"pattern": PARAM_NAME_RE.pattern}

    def to_internal_value(self, data: Any) -> Any:
        text = super().to_internal_value(data)
        if not PARAM_NAME_RE.match(text):
            raise serializers.ValidationError(
                "Must be a valid header or parameter name (no spaces or separators)."
            )
        return text


class EnumName(Text):
    """An upper-case name of the ``prefix`` family (seed 004 shows one member of these
    enums; any name of the same family is kept as given)."""

    def __init__(self, prefix: str, **kwargs: Any) -> None:
        self.prefix = prefix
        self.problem = f"Must be an upper-case name starting with {prefix}."
        # The rule is in the document too, as a pattern: any name of the family is kept.
        pattern = RegexValidator(rf"^{re.escape(prefix)}[A-Z0-9_]*$", self.problem)
        super().__init__(
            max_length=64,
            allow_blank=False,
            null_message=self.problem,
            validators=[pattern],
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not data.startswith(self.prefix):
            raise serializers.ValidationError(self.problem)
        if not ENUM_NAME_RE.match(data):
            raise serializers.ValidationError(self.problem)
        return data


class ProviderUrl(Url):
    """An absolute https URL (:func:`core.validation.url_problem`). ``blank`` false: an
    absent, null or empty value is refused (``missing`` says so when absent or null)."""

    def __init__(self, *, blank: bool = True, missing: str = "Must not be empty.", **kwargs: Any):
        self.blank = blank
        self.missing = missing
        super().__init__(allow_blank=blank, **kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if not self.blank and (data is empty or data is None):
            raise serializers.ValidationError(self.missing)
        return super().validate_empty_values(data)

    def run_validation(self, data: Any = empty) -> Any:
        # CharField's own answers "may not be blank" before the project's rule runs.
        return serializers.Field.run_validation(self, data)

    def schema_facts(self) -> dict[str, Any]:
        return url_facts(blank=self.blank)

    def to_internal_value(self, data: Any) -> Any:
        return cleaned(lambda p: v.clean_url(data, "", p, required=not self.blank))


class ProviderUrlExtension(OpenApiSerializerFieldExtension):
    """No ``format: uri`` where ``""`` is allowed too: drf-spectacular would document it as
    ``oneOf`` a URI and the empty string, which ``""`` matches both of."""

    target_class = "connectors.schemes.base.ProviderUrl"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string"} if self.target.blank else {"type": "string", "format": "uri"}


class Scopes(StringList):
    """Scope tokens (no whitespace), duplicates dropped in order."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(no_whitespace=True, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return list(dict.fromkeys(super().to_internal_value(data)))


class FalsyAsDefault(WireField):
    """A false-y value (``null``, ``false``, ``0``, ``""``, ``[]``) reads as the default, as
    the seed-004 importer read it."""

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is not empty and not data:
            return True, self.get_default()
        return super().validate_empty_values(data)

    def null_accepted(self) -> bool:
        return True


class BlankText(FalsyAsDefault, Text):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, default="", **kwargs)


class BlankUrl(FalsyAsDefault, ProviderUrl):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, default="", **kwargs)


class EmptyList(FalsyAsDefault, ListOf):
    def __init__(self, child: serializers.Field, **kwargs: Any) -> None:
        super().__init__(child, required=False, default=list, **kwargs)


def defaulted(value: Any) -> dict[str, Any]:
    """``value`` when absent or null (a list or object is copied each time)."""
    if isinstance(value, (list, dict)):
        fresh = lambda: copy.deepcopy(value)  # noqa: E731
        return {"required": False, "default": fresh, "null_as": fresh}
    return {"required": False, "default": value, "null_as": value}
