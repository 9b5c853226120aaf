from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from organisations.models import Organisation


class Command(BaseCommand):
    help = "Create an organisation and print its id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name or len(name) > 200:
            raise CommandError("The name must be 1 to 200 characters.")
        organisation = Organisation.objects.create(name=name)
        self.stdout.write(str(organisation.pk))
