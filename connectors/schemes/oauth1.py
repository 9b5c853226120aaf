"""The settings of ``oauth1`` configs (SPEC §10, seed 004): the consumer, three endpoints
with their parameter configs, and the signature method."""

from __future__ import annotations

from typing import Any

from connectors.schemes.base import (
    BlankText,
    CleanScheme,
    CredentialRef,
    EmptyList,
    EnumName,
    IdRef,
    ParamName,
    ProviderUrl,
    Settings,
)
from core.wire import Bool, Choice, Input, Nested, Secret, Text

OAUTH1_SIGNATURE_METHODS = ("HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1", "PLAINTEXT")
# RFC 5849 §3.5: header, form body or query. Seed 004 shows only the first name.
OAUTH1_TRANSMISSIONS = (
    "AUTH_STYLE_AUTHORIZATION_HEADER",
    "AUTH_STYLE_FORM",
    "AUTH_STYLE_QUERY",
)
OAUTH1_LOCATIONS = ("LOCATION_IGNORE", "LOCATION_QUERY", "LOCATION_HEADER", "LOCATION_BODY")
_FALSE: dict[str, Any] = {"required": False, "default": False, "null_as": False}


class OAuth1ParamConfig(Input):
    parameterName = ParamName()
    targetName = BlankText(max_length=256)
    # Where the parameter goes (SPEC §10): what Patchbay does with it depends on the value,
    # so only the four it knows are accepted.
    location = Choice(
        OAUTH1_LOCATIONS,
        required=False,
        default="LOCATION_IGNORE",
        null_message=f"Must be one of {', '.join(OAUTH1_LOCATIONS)}.",
    )
    # Seed 004 names one member (USAGE_UNKNOWN) and Patchbay reads none: any USAGE_ name
    # is kept as given, and the document's pattern says so.
    usages = EnumName(
        "USAGE_", required=False, default="USAGE_UNKNOWN", help_text="Any `USAGE_…` name."
    )
    required = Bool(**_FALSE)  # type: ignore[assignment]
    modifiable = Bool(**_FALSE)


class OAuth1Endpoint(Input):
    # In the order they are checked: the parameter configs before the URL.
    additionalParamConfigs = EmptyList(
        Nested(OAuth1ParamConfig),
        max_items=50,
        message="Must be a list of at most 50 objects.",
        too_many="Must be a list of at most 50 objects.",
    )
    url = ProviderUrl(blank=False, required=True, missing="This field is required.")
    parameterTransmission = Choice(
        OAUTH1_TRANSMISSIONS, required=False, default=OAUTH1_TRANSMISSIONS[0], null_as=None
    )


class OAuth1Settings(Settings):
    consumerKey = Text(required=True)
    tempCredentialEndpoint = Nested(OAuth1Endpoint, required=True)
    resourceOwnerAuthorizationEndpoint = Nested(OAuth1Endpoint, required=True)
    tokenEndpoint = Nested(OAuth1Endpoint, required=True)
    signatureMethod = Choice(
        OAUTH1_SIGNATURE_METHODS, required=False, default="HMAC-SHA1", null_as=None
    )
    tokenAuth = Bool(**_FALSE)
    credentialId = IdRef(required=False, default=None, null_as=None, allow_null=True)
    # RSA-SHA1 puts a PEM private key here, hence multi-line.
    consumerSecret = Secret(
        max_length=16_384, multiline=True, required=False, help_text="Write-only."
    )

    @classmethod
    def extract(cls, values: dict[str, Any], path: str, out: CleanScheme) -> None:
        settings = dict(values)
        secret = settings.pop("consumerSecret", None)
        out.secrets = None if secret is None else {"consumerSecret": secret}
        if settings["credentialId"]:
            out.credential_refs.append(
                CredentialRef(f"{path}.credentialId", settings["credentialId"])
            )
        out.settings = settings
