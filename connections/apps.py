from __future__ import annotations

import os

from django.apps import AppConfig
from django.conf import settings


class ConnectionsConfig(AppConfig):
    name = "connections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from connections.oauth.code_credential import oauth2_code_exchange
        from credentials.models import Credential
        from credentials.signals import credential_exchange

        # The credentials API's oauth2-code input is exchanged by the flow, here.
        credential_exchange.connect(
            oauth2_code_exchange, sender=Credential, dispatch_uid="connections.oauth2_code"
        )
        if settings.PATCHBAY_ALLOW_INSECURE_HTTP:
            # oauthlib refuses every http:// token URL on its own. The outbound seam
            # (core.outbound.check_url) already decides, per request, that plain http is
            # allowed only to loopback hosts and only with this setting on; oauthlib's
            # blanket check would otherwise make that setting useless.
            os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
