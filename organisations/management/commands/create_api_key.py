from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.text import parse_uuid
from organisations.keys import api_key_create
from organisations.models import Organisation


class Command(BaseCommand):
    help = "Create an API key and print it once. Only a hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="The organisation's id.")
        parser.add_argument("--name", default="", help="A label for the key.")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="Expire the key after N days."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pk = parse_uuid(options["organisation"])
        organisation = Organisation.objects.filter(pk=pk).first() if pk else None
        if organisation is None:
            raise CommandError("No organisation with that id.")
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be positive.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        created = api_key_create(
            organisation=organisation, name=options["name"], expires_at=expires_at
        )
        self.stdout.write(created.key)
