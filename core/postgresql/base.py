"""Django's PostgreSQL backend, whose connection health check asks the socket, not the server.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection before its first use in
each request; the stock backend does it with ``SELECT 1``, a round trip that cost the
cheapest API call about a third of its time (README, "Performance"). Here a connection is
usable when psycopg still holds it open and idle and its socket has nothing to read: a
server that closed it (a restart, ``pg_terminate_backend``, ``idle_session_timeout``, a
crash) has sent its FATAL message or its FIN by then, which makes the socket readable, and
the connection is then dropped and opened anew before the request uses it, as with
``SELECT 1``. What neither check sees in time is a peer that vanished without a word;
``SELECT 1`` would hang on it until the TCP timeout too.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        info = connection.info
        if info.status != pq.ConnStatus.OK:
            return False
        if info.transaction_status not in (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS):
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        # An idle connection is sent nothing unasked: data waiting means the server spoke
        # first, which it does when it is closing the connection.
        return not readable
