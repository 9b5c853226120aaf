"""The settings of ``api-key`` and ``hmac`` configs (SPEC §4)."""

from __future__ import annotations

from typing import Any

from connectors.schemes.base import ParamName, Settings
from core import validation as v
from core.wire import Choice, StringList, cleaned

API_KEY_IN = ("header", "query", "cookie")
HMAC_IN = ("header", "query")
HMAC_ALGORITHMS = ("sha1", "sha256", "sha512")
HMAC_DIGEST_INPUTS = ("body", "url", "method", "path", "query", "timestamp")
HMAC_ENCODINGS = ("hex", "base64", "base64url")


def _or(value: Any) -> dict[str, Any]:
    # A null value is kept as null (as seed 004 may give it); only an absent one is `value`.
    return {"required": False, "default": value, "null_as": None}


class ApiKeySettings(Settings):
    name = ParamName(help_text="The parameter's name.")
    vars()["in"] = Choice(API_KEY_IN, **_or("header"))  # `in` is a Python keyword


class DigestInputs(StringList):
    """What the signature covers, in order: at least one, none twice."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=HMAC_DIGEST_INPUTS, **kwargs)

    def get_default(self) -> Any:
        return list(super().get_default() or ())  # a copy: the declared default stays

    def schema_facts(self) -> dict[str, Any]:
        return {"minItems": 1, "uniqueItems": True}

    def to_internal_value(self, data: Any) -> Any:
        def run(problems: v.Problems) -> list[str] | None:
            inputs = v.clean_string_list(data, "", problems, **self.options)
            if inputs is not None and not inputs:
                problems.add("", "Must name at least one input.")
            elif inputs is not None and len(set(inputs)) != len(inputs):
                problems.add("", "Must not repeat an input.")
            return inputs

        return cleaned(run)


class HmacSettings(Settings):
    name = ParamName()
    vars()["in"] = Choice(HMAC_IN, **_or("header"))
    algorithm = Choice(HMAC_ALGORITHMS, **_or("sha256"))
    digestInputs = DigestInputs(required=False, default=["body"], null_as=None)
    encoding = Choice(HMAC_ENCODINGS, **_or("hex"))
