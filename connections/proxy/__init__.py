"""The authenticated proxy (SPEC §9.1): a connection's credentials, applied for the caller.

* :func:`send` — the service: ``send(connection=..., method="GET", path="v1/items",
  query="a=1", headers={...}, body=b"...", retries=0)`` → :class:`Upstream` (status,
  caller-safe headers, the body still streaming).
* :mod:`~connections.proxy.schemes` — one applier per auth scheme type (:data:`APPLIERS`).
* :mod:`~connections.proxy.target`, :mod:`~connections.proxy.headers`,
  :mod:`~connections.proxy.body`, :mod:`~connections.proxy.retries`,
  :mod:`~connections.proxy.signing` — the target URL, header, body, retry and HMAC rules.
"""

from __future__ import annotations

from connections.proxy.body import SpooledBody, body_read
from connections.proxy.schemes import APPLIERS
from connections.proxy.service import Upstream, send, upstream_call

__all__ = ["APPLIERS", "SpooledBody", "Upstream", "body_read", "send", "upstream_call"]
