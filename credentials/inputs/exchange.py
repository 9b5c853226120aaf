"""The body of an ``oauth2-code`` credential (SPEC §4): input only, exchanged at once.

``{"type": "oauth2-code", "name"?, "data": {"oauth2Code": {code, state, redirectUrl?}}}``:
what a backend that caught the provider's redirect itself sends instead of calling the API
callback. The credentials API cannot exchange it (the flow lives in connections, above
this app): :func:`credentials.services.credential_exchange` hands it to whoever answers
:data:`credentials.signals.credential_exchange`.
"""

from __future__ import annotations

from core.wire import Choice, Input, Secret, Text

# As the callback's limits (connections.oauth.callback), which check them again.
MAX_CODE_LENGTH = 2048
MAX_STATE_LENGTH = 512


class OAuth2CodeData(Input):
    """An authorization code and the state of the flow it finishes."""

    code = Secret(max_length=MAX_CODE_LENGTH, required=True)
    state = Text(max_length=MAX_STATE_LENGTH, required=True)
    redirectUrl = Text(
        max_length=2048,
        required=False,
        source="redirect_url",
        help_text="When given, must be the flow's redirect URL exactly.",
    )


class OAuth2CodeWrapper(Input):
    oauth2Code = OAuth2CodeData(required=True, source="oauth2_code")


class CredentialOAuth2Code(Input):
    """An `oauth2-code` credential: exchanged at once, exactly as the API callback does, and
    stored as the `oauth2-token` credential (and connection) of that flow (201)."""

    name = Text(max_length=200, required=False, null_as="")
    type = Choice(("oauth2-code",), required=True)
    data = OAuth2CodeWrapper(required=True)  # type: ignore[assignment]
