"""``manage.py demo_host``: serve the demo host page on another origin (``make run`` does).

Run ``manage.py demo`` first: it creates the demo hub this page embeds.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo import host
from demo.management.commands.demo import HOST_ORIGIN, HUB_NAME, ORGANISATION_NAME
from embed.models import Hub
from organisations.keys import api_key_create
from organisations.models import ApiKey

API_KEY_NAME = "demo host (manage.py demo_host)"


class Command(BaseCommand):
    help = "Serve the demo host page that embeds the connect widget (demo mode only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8001)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.PATCHBAY_DEMO:
            raise CommandError("The demo host page needs PATCHBAY_DEMO=true.")
        hub = (
            Hub.objects.filter(name=HUB_NAME, organisation__name=ORGANISATION_NAME)
            .select_related("organisation")
            .order_by("created_at")
            .first()
        )
        if hub is None:
            raise CommandError("No demo hub: run `manage.py demo` first.")
        # The site's backend holds its own key; retire the ones earlier runs made.
        ApiKey.objects.filter(
            organisation=hub.organisation, name=API_KEY_NAME, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        key = api_key_create(organisation=hub.organisation, name=API_KEY_NAME).key
        patchbay = settings.PATCHBAY_PUBLIC_URL
        own_origin = f"http://localhost:{options['port']}"
        if own_origin != HOST_ORIGIN:
            self.stderr.write(
                f"Note: the demo hub allows {HOST_ORIGIN} only; {own_origin} cannot frame it."
            )
        handler_class = host.handler(
            own_origin=own_origin,
            html=host.page(patchbay_url=patchbay, hub_id=str(hub.pk)),
            mint=host.SessionMinter(
                patchbay_url=patchbay,
                organisation_id=str(hub.organisation_id),
                hub_id=str(hub.pk),
                api_key=key,
            ),
        )
        self.stdout.write(
            self.style.SUCCESS(f"Demo host page: {own_origin}/ (embeds {hub.name} from {patchbay})")
        )
        with contextlib.suppress(KeyboardInterrupt):
            host.serve(host=options["bind"], port=options["port"], handler_class=handler_class)
