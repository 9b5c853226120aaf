#!/usr/bin/env python
"""What internal consumers' id_tokens cost, and what telling them from API keys costs the
API-key path, side by side in one run.

    .venv/bin/python bench/id_tokens.py [--rounds 5] [--calls 2000]

CPU only, in process, no database: the IdP is the tests' loopback server
(``tests/organisations/idp_server.py``), fetched once before timing, so every timed
verification is served from the cached key set. Rows:

* ``api key: dispatch check`` — what ``ApiKeyAuthentication`` added for JWTs
  (``startswith("pb_")`` and, for anything else, the two-dot test), on an API key;
* ``api key: split + HMAC`` — the work the API-key path did before (prefix parse and the
  peppered HMAC), for scale: the ratio says what share the dispatch adds;
* ``id_token RS256`` / ``ES256`` — ``organisations.idp_authentication``'s verification
  (cached keys, signature, claims), without the organisation lookup.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from bench.end_user_tokens import per_call_us  # noqa: E402
from core.jwks import looks_like_jwt  # noqa: E402
from organisations import idp  # noqa: E402
from organisations.idp_authentication import _verified_claims  # noqa: E402
from organisations.keys import KEY_PREFIX, hash_key, split_key  # noqa: E402
from tests.organisations.idp_server import serve_idp  # noqa: E402

API_KEY = "pb_0123456789ab_" + "k" * 43


def dispatch() -> bool:
    return not API_KEY.startswith(KEY_PREFIX) and looks_like_jwt(API_KEY)


def key_work() -> str:
    split_key(API_KEY)
    return hash_key(API_KEY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with serve_idp() as server:
        settings.PATCHBAY_IDP_ISSUER = server.issuer
        settings.PATCHBAY_IDP_AUDIENCE = server.audience
        org = "6f1c1c1e-0000-4000-8000-000000000000"
        rs256 = server.token(org, key=server.key("rsa-1"))
        es256 = server.token(org, key=server.key("ec-1"))
        _verified_claims(rs256)  # fetch discovery and JWKS once
        cases: dict[str, Callable[[], object]] = {
            "api key: dispatch check": dispatch,
            "api key: split + HMAC": key_work,
            "id_token RS256": lambda: _verified_claims(rs256),
            "id_token ES256": lambda: _verified_claims(es256),
        }
        results: dict[str, list[float]] = {name: [] for name in cases}
        ratios: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, fn in cases.items():
                calls = args.calls if name.startswith("api key") else args.calls // 10
                results[name].append(per_call_us(fn, calls))
            base = results["api key: split + HMAC"][-1]
            for name in cases:
                ratios[name].append(results[name][-1] / base)
        fetched = (server.discovery_requests, server.jwks_requests)
    idp.forget()

    def fmt(values: list[float], unit: str = "") -> str:
        return f"{statistics.median(values):9.3f}{unit} ({min(values):.3f}-{max(values):.3f})"

    print(f"{args.rounds} rounds, CPU time per call (median, range); IdP requests {fetched}")
    print(f"{'case':<26} {'µs per call':>28} {'vs split + HMAC':>28}")
    for name in cases:
        print(f"{name:<26} {fmt(results[name]):>28} {fmt(ratios[name], 'x'):>28}")


if __name__ == "__main__":
    main()
