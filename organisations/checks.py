"""System checks of the organisations app's settings (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning


@register(Tags.security, deploy=True)
def idp_issuer_over_https(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An IdP over plain http hands its signing keys to anyone on the path: whoever can
    answer the JWKS request can mint id_tokens for every organisation."""
    issuer = settings.PATCHBAY_IDP_ISSUER
    if not issuer or urlsplit(issuer).scheme == "https":
        return []
    return [
        CheckWarning(
            "PATCHBAY_IDP_ISSUER is not an https URL: its signing keys (discovery and JWKS) "
            "would be fetched without TLS, and anyone on the way could mint id_tokens.",
            hint="Use the IdP's https issuer URL.",
            id="patchbay.W001",
        )
    ]
