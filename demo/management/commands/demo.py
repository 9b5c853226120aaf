"""``manage.py demo``: load the demo that ``make run`` serves (SPEC §2), idempotently
(:mod:`demo.services`), and print every value the README walkthrough uses."""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.selectors import WALKTHROUGH, walkthrough_of
from demo.services import (
    DEFAULT_HOST_PORT,
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    PROVIDER_PASSWORD,
    PROVIDER_USERNAME,
    DemoError,
    demo_load,
    key_file,
)


class Command(BaseCommand):
    help = "Load the demo (organisation, API key, demo OAuth provider and connector). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host-port",
            type=int,
            default=int(os.environ.get("DEMO_HOST_PORT") or DEFAULT_HOST_PORT),
            help="the port of the demo host page that frames the widget "
            "(default: $DEMO_HOST_PORT, else %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.PATCHBAY_DEMO:
            raise CommandError(
                "The demo needs PATCHBAY_DEMO=true: its OAuth provider is only served in demo mode."
            )
        try:
            demo = demo_load(host_port=options["host_port"])
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        walkthrough = walkthrough_of(demo)
        values = walkthrough.values
        base = settings.PATCHBAY_PUBLIC_URL
        out = self.stdout
        out.write(self.style.SUCCESS("Patchbay demo loaded."))
        out.write(f"  Organisation:   {demo.organisation.name}")
        if demo.operator_known:
            out.write(
                f"  Admin:          {base}/admin/  sign in as "
                f"{OPERATOR_USERNAME} / {OPERATOR_PASSWORD}"
            )
        else:
            out.write(f"  Admin:          {base}/admin/  (existing operator accounts unchanged)")
        out.write(f"  Provider login: {PROVIDER_USERNAME} / {PROVIDER_PASSWORD}")
        out.write(
            f"  Demo host page: {walkthrough.host_page}  (embeds {demo.hub.name} {demo.hub.pk})"
        )
        out.write("")
        kept = "new, kept" if demo.api_key_created else "kept"
        out.write("The walkthrough's values (README):")
        width = max(map(len, values))
        for name, value in values.items():
            note = WALKTHROUGH[name]
            if name == "KEY":
                note += f" ({kept} in {key_file()})"
            out.write(f"  {name.ljust(width)}  {value}  # {note}")
        out.write("")
        out.write("Paste into another terminal:")
        out.write("  " + walkthrough.export_line())
        out.write("")
        body = {
            "authorizeUrl": demo.auth_scheme_config.settings["authorizeUrl"],
            "clientId": demo.client_id,
            "credential": {"id": values["CLIENT"], "organisationId": values["ORG"]},
        }
        url = f"{base}/api/v2/o/{values['ORG']}/connectors/{values['CONNECTOR']}/oauth2/initialise"
        out.write("Start an OAuth 2.0 connection (walkthrough step 2):")
        out.write(
            f"  curl -sS -X POST {shlex.quote(url)} \\\n"
            f"    -H {shlex.quote('Authorization: Bearer ' + demo.api_key)} \\\n"
            f"    -H 'Content-Type: application/json' \\\n"
            f"    -d {shlex.quote(json.dumps(body))}"
        )
        out.write(
            "Open the returned url in a browser and sign in at the provider as "
            f"{PROVIDER_USERNAME} / {PROVIDER_PASSWORD}."
        )
