"""The absolute deadline of one outbound request (used by :mod:`core.outbound`)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Deadline:
    """The absolute end of one outbound request, past which its connection is cut.

    The (connect, read) timeouts bound each read, not the request: a server trickling
    its headers or body a byte at a time would hold the caller (a worker, with every job
    behind it) for as long as it likes. A timer shuts the socket down at the deadline,
    which wakes the blocked read; :func:`core.outbound.transport` then reports a timeout.
    """

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.fired = False
        self._timers: list[threading.Timer] = []

    def watch(self, sock: socket.socket) -> None:
        """Cut ``sock`` at the deadline. The socket itself, not its connection: http.client
        hands a connection's socket over to the response (``connection.sock`` becomes None)
        when the server will close it after the body — a body without a length."""
        remaining = max(0.0, self.at - time.monotonic())
        timer = threading.Timer(remaining, self._cut, args=(sock,))
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def _cut(self, sock: socket.socket) -> None:
        self.fired = True
        with contextlib.suppress(OSError):  # already closed: nothing left to cut
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()


current = threading.local()  # the Deadline of the request this thread is sending
