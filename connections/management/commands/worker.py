"""``python manage.py worker``: run the background jobs in a loop (or once).

No extra infrastructure: the database is the queue. Start as many workers as you
like, on as many machines: on PostgreSQL they never take the same item. SIGTERM
and SIGINT finish the current item and exit cleanly.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from connections.jobs import JOBS, jobs_run

logger = logging.getLogger("patchbay.worker")


def job_names(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in JOBS]
    if unknown:
        raise CommandError(f"Unknown job(s): {', '.join(unknown)}. Jobs: {', '.join(JOBS)}.")
    return names or list(JOBS)


def format_counts(counts: dict[str, int]) -> str:
    return " ".join(f"{name}={count}" for name, count in counts.items())


class Command(BaseCommand):
    help = "Run the background jobs (token refresh, expiry, clean-up, webhooks) in a loop."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once and exit")
        parser.add_argument(
            "--interval", type=float, default=10.0, help="seconds to sleep when idle (10)"
        )
        parser.add_argument("--limit", type=int, default=100, help="items per job per round")
        parser.add_argument(
            "--jobs", default="", help=f"comma-separated subset of: {', '.join(JOBS)}"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names = job_names(options["jobs"])
        limit = max(1, int(options["limit"]))
        interval = max(0.1, float(options["interval"]))
        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            logger.info("worker stopping (signal %s)", signum)
            stop.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
        logger.info("worker started jobs=%s limit=%d", ",".join(names), limit)
        while not stop.is_set():
            started = time.monotonic()
            counts = jobs_run(names, limit=limit, should_stop=stop.is_set)
            close_old_connections()
            busy = any(count >= limit for count in counts.values())
            if any(counts.values()) or options["once"]:
                line = format_counts(counts)
                logger.info("worker round %.2fs %s", time.monotonic() - started, line)
                if options["once"]:
                    self.stdout.write(line)
            if options["once"]:
                break
            if not busy:  # a full batch means more is waiting: go again at once
                stop.wait(interval)
        logger.info("worker stopped")
