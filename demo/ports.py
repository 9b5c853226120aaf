"""``python -m demo.ports PORT=127.0.0.1:8000 DEMO_HOST_PORT=127.0.0.1:8001``: ``make run``'s
first step, before anything is installed into the database or served.

A second ``make run`` next to a running one must stop here, with one line per busy
port naming the make variable that moves it and a non-zero exit, rather than re-load
the demo under the running one and die with a traceback when it cannot listen. Needs
nothing but the standard library, so it runs before Django starts.
"""

from __future__ import annotations

import errno
import socket
import sys


def port_busy(host: str, port: int) -> bool:
    """True when nothing can listen on ``host:port`` now. ``SO_REUSEADDR`` as the servers
    themselves set it: a port that an earlier, stopped run left in TIME_WAIT is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def busy_lines(wanted: list[tuple[str, str, int]]) -> list[str]:
    """One line per busy ``(make variable, host, port)``."""
    return [
        f"Port {port} on {host} is already in use (is `make run` already running?): "
        f"stop it, or choose another port with `make run {variable}=…`."
        for variable, host, port in wanted
        if port_busy(host, port)
    ]


def _parse(argument: str) -> tuple[str, str, int]:
    variable, _, address = argument.partition("=")
    host, _, port = address.rpartition(":")
    return variable, host.strip("[]") or "127.0.0.1", int(port)


def main(arguments: list[str]) -> int:
    lines = busy_lines([_parse(argument) for argument in arguments])
    for line in lines:
        print(line, file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
