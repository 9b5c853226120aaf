"""``manage.py demo_end_user_token``: print a company-signed end-user token for the demo hub
(SPEC §11), signed with the demo company's key as a company's backend would sign one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.services import HUB_NAME, ORGANISATION_NAME
from demo.signing import DEFAULT_EXTERNAL_ID, demo_end_user_token
from embed.models import Hub


class Command(BaseCommand):
    help = (
        "Print a JWT for the demo hub signed with the demo signing key: hand it to the widget "
        "or trade it at POST /api/v2/embed/{hub}/session (demo mode only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--external-id", default=DEFAULT_EXTERNAL_ID, help="sub: the end user's externalId"
        )
        parser.add_argument("--name", default=None, help="name: the end user's display name")
        parser.add_argument(
            "--minutes", type=int, default=5, help="lifetime, 1 to 15 (default %(default)s)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.PATCHBAY_DEMO:
            raise CommandError("The demo signing key exists in demo mode only (PATCHBAY_DEMO).")
        if not 1 <= options["minutes"] <= 15:
            raise CommandError("--minutes must be from 1 to 15: Patchbay refuses longer tokens.")
        hub = (
            Hub.objects.filter(organisation__name=ORGANISATION_NAME, name=HUB_NAME)
            .order_by("created_at")
            .first()
        )
        if hub is None:
            raise CommandError("The demo is not loaded: run `make run` (or manage.py demo).")
        self.stdout.write(
            demo_end_user_token(
                hub_id=str(hub.pk),
                external_id=options["external_id"],
                name=options["name"],
                minutes=options["minutes"],
            )
        )
