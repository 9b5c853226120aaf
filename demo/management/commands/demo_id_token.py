"""``manage.py demo_id_token``: an id_token from the demo IdP, as an internal consumer would
get one from yours (README "Internal consumers").

The demo provider (django-oauth-toolkit, OpenID Connect on) publishes its discovery
document and JWKS under ``/demo/provider/``; this signs an RS256 token with the same
key (``PATCHBAY_DEMO_OIDC_KEY_FILE``), the ``kid`` the JWKS names, ``iss`` the demo
provider, ``aud`` ``PATCHBAY_IDP_AUDIENCE`` and the organisation claim. Demo mode only.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from jwcrypto import jwk

from core.text import parse_uuid
from demo.services import ORGANISATION_NAME
from organisations.models import Organisation


class Command(BaseCommand):
    help = "Print an id_token signed by the demo IdP for an organisation (demo mode only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", help=f"its id (default: {ORGANISATION_NAME})")
        parser.add_argument("--minutes", type=int, default=10, help="lifetime (default 10)")
        parser.add_argument("--subject", default="demo-internal-service", help="the sub claim")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.PATCHBAY_DEMO:
            raise CommandError("The demo IdP needs PATCHBAY_DEMO=true.")
        organisation = self._organisation(options["organisation"])
        pem = settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]
        now = int(time.time())
        claims = {
            "iss": f"{settings.PATCHBAY_PUBLIC_URL}/demo/provider",
            "aud": settings.PATCHBAY_IDP_AUDIENCE or "patchbay",
            "sub": options["subject"],
            "iat": now,
            "exp": now + 60 * max(1, options["minutes"]),
            settings.PATCHBAY_IDP_ORGANISATION_CLAIM: str(organisation.pk),
        }
        # The kid django-oauth-toolkit's JWKS gives this key: its RFC 7638 thumbprint.
        kid = jwk.JWK.from_pem(pem.encode()).thumbprint()
        self.stdout.write(jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid}))

    def _organisation(self, wanted: str | None) -> Organisation:
        if wanted is None:
            found = Organisation.objects.filter(name=ORGANISATION_NAME).first()
            if found is None:
                raise CommandError("No demo organisation: run `manage.py demo` first.")
            return found
        pk = parse_uuid(wanted)
        found = Organisation.objects.filter(pk=pk).first() if pk else None
        if found is None:
            raise CommandError(f"No organisation {wanted[:40]!r}.")
        return found
