"""gunicorn's settings for production (README, "Running in production"):

    gunicorn -c config/gunicorn.py config.wsgi --bind 127.0.0.1:8000

Threaded workers (``gthread``): a request that waits — on a provider a tenant chose, or on
another request's refresh of the same token — holds one thread of eight, not a whole
worker, and a waiter wakes the moment the refresh lands (``connections/oauth/refresh_lock.py``).
``2 x cores + 1`` workers, gunicorn's own recommendation. Each thread holds its own database
connection: budget ``workers x threads`` in PostgreSQL's ``max_connections``. Anything here
can be overridden on the command line or with ``GUNICORN_CMD_ARGS``.
"""

from __future__ import annotations

import os

worker_class = "gthread"
workers = 2 * (os.cpu_count() or 1) + 1
threads = 8
