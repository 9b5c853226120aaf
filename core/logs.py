"""Refusals leave a trace: one log record per refusal, written at the seam that refuses.

An operator must be able to see a replayed state, a blocked address or a bad key, as
django-oauth-toolkit's validators let them see each failing branch. Every seam that
refuses (OAuth callback, outbound guard, API-key and connect-session authentication, the
services that refuse another organisation's ids) calls :func:`refusal` once:

* the message is stable, ``refused <code> name=value ...``: ``code`` is the error code the
  caller was answered (``invalid_state``, ``unauthenticated``, ``not_found``) or the
  outbound failure kind (``blocked``, ``too_large``...), and a ``reason`` id says what only
  the operator may know (``replayed``, ``revoked``, ``another_organisation``...);
* the same values are on the record for structured handlers: ``record.refusal`` (the code)
  and ``record.refusal_ids`` (a dict of strings);
* ``WARNING`` when the refusal suggests an attack or a misconfiguration (a replayed state,
  a blocked address, a bad key), ``INFO`` for ordinary ones (an expired key, a cancelled
  authorisation).

Only ids go in — organisation, connector, authorisation request, API key prefix or id,
hub, session, host — never a secret, a token, an API key, a state, a code or a client
secret. Callers pass none, and the tests grep every record for the secrets they used.
"""

from __future__ import annotations

import logging
import re

WARNING = logging.WARNING
INFO = logging.INFO

_MAX_VALUE = 120
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")  # no spaces either: values stay one token


def _clean(value: object) -> str:
    # Values are ids, but some come from the outside (a host, a header's scheme): keep each
    # one printable, on one line and short, so no value can forge a second record.
    return _UNPRINTABLE.sub("?", str(value))[:_MAX_VALUE]


def refusal(logger: logging.Logger, code: str, *, level: int = INFO, **ids: object) -> None:
    """Log one refusal: ``refused <code> name=value ...`` (``None`` values are left out)."""
    values = {name: _clean(value) for name, value in ids.items() if value is not None}
    pairs = "".join(f" {name}={value}" for name, value in values.items())
    logger.log(
        level, "refused %s%s", _clean(code), pairs, extra={"refusal": code, "refusal_ids": values}
    )
