"""HMAC request signatures (SPEC §9.1, ``hmac`` auth scheme configs).

The canonical string is the config's ``digestInputs``, in the config's order, joined by a
single ``\\n`` (bytes; text is UTF-8):

* ``method`` — the method in capitals: ``POST``;
* ``url`` — the URL as sent, scheme, host (and port), path and query, but without the
  signature's own query parameters: ``https://api.example.com/v1/items?page=2``;
* ``path`` — the URL's path as sent (percent-encoded): ``/v1/items``;
* ``query`` — the query as sent, without ``?`` and without the signature's own
  parameters (``""`` when there is none): ``page=2``;
* ``body`` — the body's bytes exactly as sent (empty when there is none);
* ``timestamp`` — unix seconds, in decimal: ``1767225600``.

The MAC is HMAC with the config's ``algorithm`` (``sha1``, ``sha256``, ``sha512``) keyed
by the credential (a ``string`` credential's UTF-8 value, or a ``binary`` one's bytes),
encoded as ``hex`` (lower case), ``base64`` or ``base64url`` (both with ``=`` padding).
It is sent as ``name`` and, when ``timestamp`` is an input, the timestamp as
``{name}-Timestamp``, both as headers or both as query parameters (appended last, so a
verifier drops the last two parameters to get ``query`` back). A caller's own headers or
parameters of those names are never passed on. README has a verification recipe.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from connections.proxy.outgoing import Outgoing

ALGORITHMS: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}


def encode(digest: bytes, encoding: str) -> str:
    if encoding == "base64":
        return base64.b64encode(digest).decode()
    if encoding == "base64url":
        return base64.urlsafe_b64encode(digest).decode()
    return digest.hex()


def sign(out: Outgoing, *, key: bytes, settings: dict[str, Any], now: float | None = None) -> None:
    """Add the signature (and timestamp) of ``out`` as the config's ``settings`` say."""
    name = str(settings.get("name") or "Signature")
    where = settings.get("in") or "header"
    inputs = list(settings.get("digestInputs") or ["body"])
    timestamp = str(int(time.time() if now is None else now))
    stamp_name = f"{name}-Timestamp"
    if where == "query":
        out.dropped |= {name, stamp_name}
    url = out.full_url()
    parts = urlsplit(url)
    mac = hmac.new(key, digestmod=ALGORITHMS.get(str(settings.get("algorithm")), hashlib.sha256))
    for index, item in enumerate(inputs):
        if index:
            mac.update(b"\n")
        if item == "body":
            for chunk in out.body:
                mac.update(chunk)
        else:
            mac.update(
                {
                    "method": out.method.upper(),
                    "url": url,
                    "path": parts.path,
                    "query": parts.query,
                    "timestamp": timestamp,
                }.get(item, "").encode()
            )
    signature = encode(mac.digest(), str(settings.get("encoding") or "hex"))
    if where == "query":
        out.add_query(name, signature)
        if "timestamp" in inputs:
            out.add_query(stamp_name, timestamp)
    else:
        out.set_header(name, signature)
        if "timestamp" in inputs:
            out.set_header(stamp_name, timestamp)
