#!/usr/bin/env python
"""What verifying a company-signed end-user token costs (``core.jwks.jwt_verify``), per
key type, side by side in one run; and, beside it, registering a key (``clean_jwks``).

    .venv/bin/python bench/end_user_tokens.py [--rounds 5] [--calls 400]

CPU only, in process: no database, no HTTP (the exchange's queries are counted by
``tests/embed/test_end_user_tokens.py``). Each round times every key type once, so the
ratios to ES256 are taken within a round; prints the median (and range) of the rounds'
microseconds per call and of the ratios.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from core.jwks import clean_jwks, jwt_verify  # noqa: E402
from core.validation import Problems  # noqa: E402
from tests.jwt_keys import SigningKey, claims, ec_key, ed_key, rsa_key  # noqa: E402


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    keys: dict[str, SigningKey] = {
        "ES256 (P-256)": ec_key(),
        "EdDSA (Ed25519)": ed_key(),
        "RS256 (2048)": rsa_key("r2"),
        "PS256 (2048)": rsa_key("p2", alg="PS256"),
        "RS256 (4096)": rsa_key("r4", bits=4096),
    }
    cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {}
    for name, key in keys.items():
        jwks = {"keys": [key.public_jwk]}
        stored = clean_jwks(jwks, "", Problems())
        assert stored is not None
        token = key.sign(claims(aud="hub", jti="j"))
        cases[name] = (
            functools.partial(
                jwt_verify, token, stored["keys"], audience="hub", require=("exp", "jti")
            ),
            functools.partial(clean_jwks, jwks, "", Problems()),
        )

    verify_us: dict[str, list[float]] = {name: [] for name in cases}
    register_us: dict[str, list[float]] = {name: [] for name in cases}
    ratios: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, (verify, register) in cases.items():
            verify_us[name].append(per_call_us(verify, args.calls))
            register_us[name].append(per_call_us(register, args.calls))
        base = verify_us["ES256 (P-256)"][-1]
        for name in cases:
            ratios[name].append(verify_us[name][-1] / base)

    def fmt(values: list[float], unit: str = "") -> str:
        return f"{statistics.median(values):8.1f}{unit} ({min(values):.1f}-{max(values):.1f})"

    print(f"{args.rounds} rounds x {args.calls} calls, CPU time per call (median, range)")
    print(f"{'key':<18} {'verify µs':>24} {'vs ES256':>22} {'register µs':>24}")
    for name in cases:
        print(
            f"{name:<18} {fmt(verify_us[name]):>24} {fmt(ratios[name], 'x'):>22} "
            f"{fmt(register_us[name]):>24}"
        )


if __name__ == "__main__":
    main()
