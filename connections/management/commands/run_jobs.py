"""``python manage.py run_jobs [JOB ...]``: run background jobs once (cron-friendly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.jobs import JOBS, jobs_run
from connections.management.commands.worker import format_counts, job_names


class Command(BaseCommand):
    help = "Run the named background jobs once (all when none is named) and print the counts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("jobs", nargs="*", help=f"any of: {', '.join(JOBS)}")
        parser.add_argument("--limit", type=int, default=100, help="items per job (100)")

    def handle(self, *args: Any, **options: Any) -> None:
        names = job_names(",".join(options["jobs"]))
        counts = jobs_run(names, limit=max(1, int(options["limit"])))
        self.stdout.write(format_counts(counts))
        if any(count < 0 for count in counts.values()):
            raise CommandError("A job failed; see the log.")
