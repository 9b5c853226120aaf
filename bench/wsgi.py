"""What ``bench/run.py`` serves: Patchbay, and beside it a bare WSGI app on the same
gunicorn (same workers, same process, same sockets), as the floor any request can reach.

``GET /__bench/bare`` answers a small JSON body straight from WSGI, without Django;
every other path is Patchbay, as ``config.wsgi`` serves it. Bench code only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
patchbay = get_wsgi_application()  # what config.wsgi serves

BARE_PATH = "/__bench/bare"
_BODY = b'{"id":"00000000-0000-0000-0000-000000000000","name":"Bare WSGI"}'
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == BARE_PATH:
        start_response("200 OK", list(_HEADERS))
        return [_BODY]
    return patchbay(environ, start_response)
