"""The refresh lock: one refresh per credential at a time, across processes, and no
transaction open while the provider is called (SPEC §5.3).

Whoever refreshes a token holds its credential's lock from before it reads the row until
after the new tokens have committed; whoever comes meanwhile waits for the lock to be
released and then re-reads the row, which by then holds the new token. That is what keeps
rotating refresh tokens safe: a second refresh with the same refresh token would be refused.

* **PostgreSQL**: a session-level advisory lock, ``pg_try_advisory_lock(NAMESPACE, key)``
  with ``key`` from the credential's id. It is not a transaction: the provider call runs
  with no transaction and no row lock open, so the rows stay free for everyone else (the
  worker's batch claims, the admin, the API reading the connection). A process that dies
  drops its connection and PostgreSQL releases the lock with it. Waiters do not poll: they
  ask for the same lock *shared* (``pg_advisory_lock_shared``), which PostgreSQL grants to
  all of them together the moment the holder releases it, then let go at once; so fifty
  requests for an expired token wake together when the one refresh lands. A wait is bounded
  (``lock_timeout``) by the provider's deadline and a margin.
* **Inside a transaction the caller opened** (``transaction.atomic``), the outcome commits
  only with that transaction, so the lock must outlive it: the transaction-level
  ``pg_advisory_xact_lock`` is taken instead (blocking), and released by the commit.
* **SQLite** (``make run``, tests; one process): a lock of this process per credential.
  No transaction may span the provider call there either: SQLite locks the whole file
  for as long as a transaction that has read holds it, and the demo's provider is served
  by this very process writing to the same file, so it could never commit.

Two credentials whose keys collide (32 bits) only wait for each other; nothing is wrong.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db import connection as db_connection

# pg_locks.classid of every refresh lock ("PB" 0x5042, "refresh" 1), so an operator can
# tell them from other advisory locks.
NAMESPACE = 0x50420001
# A waiter gives up after the provider's deadline plus this: the holder's call is over by
# then, whatever became of it.
WAIT_MARGIN_SECONDS = 5.0
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout


def lock_key(pk: Any) -> int:
    """A signed 32-bit key for the credential ``pk`` (the first four bytes of its UUID)."""
    raw = pk.bytes if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk)).bytes
    return int.from_bytes(raw[:4], "big", signed=True)


def wait_seconds() -> float:
    """How long a caller waits for someone else's refresh of the same token."""
    return float(settings.PATCHBAY_HTTP_TOKEN_DEADLINE) + WAIT_MARGIN_SECONDS


def _advisory() -> bool:
    return db_connection.vendor == "postgresql"


def _scalar(sql: str, params: list[Any]) -> Any:
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


_process_locks: dict[Any, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(pk: Any) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(pk, threading.Lock())


@contextmanager
def refresh_lock(pk: Any) -> Iterator[bool]:
    """Take credential ``pk``'s refresh lock if nobody holds it; yields whether it was taken.

    Released on leaving the block (after whatever the block committed), except inside a
    caller's transaction on PostgreSQL, where it is taken waiting and held until that
    transaction ends (see the module docstring).
    """
    if not _advisory():
        lock = _process_lock(pk)
        taken = lock.acquire(blocking=False)
        try:
            yield taken
        finally:
            if taken:
                lock.release()
        return
    key = [NAMESPACE, lock_key(pk)]
    if db_connection.in_atomic_block:
        _scalar("SELECT pg_advisory_xact_lock(%s, %s)", key)
        yield True
        return
    taken = bool(_scalar("SELECT pg_try_advisory_lock(%s, %s)", key))
    try:
        yield taken
    finally:
        if taken:
            _scalar("SELECT pg_advisory_unlock(%s, %s)", key)


def refresh_lock_wait(pk: Any, *, timeout: float) -> bool:
    """Wait until nobody holds credential ``pk``'s refresh lock, without taking it.

    Returns False when ``timeout`` seconds passed first. Waiters wake together when the
    holder releases (a shared lock, let go at once), so none of them polls.
    """
    if timeout <= 0:
        return False
    if not _advisory():
        lock = _process_lock(pk)
        if not lock.acquire(timeout=timeout):
            return False
        lock.release()
        return True
    key = [NAMESPACE, lock_key(pk)]
    try:
        # A savepoint inside a caller's transaction: a lock timeout must not abort it.
        # Outside one, the statement is its own transaction, and a timeout rolls back its
        # set_config too.
        with transaction.atomic() if db_connection.in_atomic_block else nullcontext():
            _scalar(_WAIT, [f"{int(timeout * 1000)}ms", *key, *key])
    except DatabaseError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise  # not the timeout: the database itself
        return False
    return True


# One round trip, evaluated left to right: bound the wait, wait for the lock shared, let
# go at once, and put lock_timeout back as the session had it.
_WAIT = (
    "SELECT set_config('lock_timeout', %s, false), pg_advisory_lock_shared(%s, %s),"
    " pg_advisory_unlock_shared(%s, %s), set_config('lock_timeout',"
    " (SELECT reset_val FROM pg_settings WHERE name = 'lock_timeout'), false)"
)
