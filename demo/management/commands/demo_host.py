"""``manage.py demo_host``: serve the demo host page on another origin (``make run`` does).

Run ``manage.py demo`` first (with the same ``--host-port``): it creates the demo hub
this page embeds, framed from this page's origin, and the demo API key its backend uses.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo import host
from demo.services import (
    DEFAULT_HOST_PORT,
    HUB_NAME,
    ORGANISATION_NAME,
    demo_api_key,
    host_origin,
    remembered_key,
)
from embed.models import Hub


class Command(BaseCommand):
    help = "Serve the demo host page that embeds the connect widget (demo mode only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("DEMO_HOST_PORT") or DEFAULT_HOST_PORT),
            help="port to listen on (default: $DEMO_HOST_PORT, else %(default)s)",
        )

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
        key = remembered_key()
        if key is None or demo_api_key(hub.organisation) is None:
            raise CommandError("No usable demo API key: run `manage.py demo` first.")
        patchbay = settings.PATCHBAY_PUBLIC_URL
        own_origin = host_origin(options["port"])
        if own_origin not in hub.allowed_origins:
            self.stderr.write(
                f"Note: the demo hub is framed from {', '.join(hub.allowed_origins)} only, not "
                f"{own_origin}: run `manage.py demo --host-port {options['port']}` first."
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
        try:
            server = host.server(
                host=options["bind"], port=options["port"], handler_class=handler_class
            )
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise CommandError(
                f"Port {options['port']} on {options['bind']} is already in use: "
                "choose another with --port (make run DEMO_HOST_PORT=…)."
            ) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Demo host page: {own_origin}/ (embeds {hub.name} from {patchbay})")
        )
        with server, contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
