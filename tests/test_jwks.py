"""``core.jwks``: which signing keys may be registered, and which JWTs verify against them."""

from __future__ import annotations

import time

import pytest

from core.jwks import MAX_KEYS, TokenRefused, clean_jwks, jwt_verify
from core.validation import Problems
from tests.jwt_keys import claims, ec_key, ed_key, hs256_with_public_key, rsa_key, unsigned


def clean(value):
    problems = Problems()
    return clean_jwks(value, "signingKeys", problems), {f.field: f.message for f in problems.fields}


def verify(token, keys, **options):
    options.setdefault("audience", "audience")
    return jwt_verify(token, keys, **options)


def refusal(token, keys, **options) -> str:
    with pytest.raises(TokenRefused) as caught:
        verify(token, keys, **options)
    return caught.value.reason


# --- Registering keys -------------------------------------------------------------------


def test_it_keeps_rsa_ec_and_ed25519_public_keys():
    keys = [rsa_key().public_jwk, ec_key().public_jwk, ed_key().public_jwk]
    stored, problems = clean({"keys": keys})
    assert problems == {}
    assert [k["kty"] for k in stored["keys"]] == ["RSA", "EC", "OKP"]
    assert stored["keys"][0] == {"kty": "RSA", "kid": "rsa-1", **{m: keys[0][m] for m in "ne"}}


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "k"])
def test_it_refuses_a_private_member_at_its_path(member):
    jwk = {**rsa_key().public_jwk, member: "AQAB"}
    stored, problems = clean({"keys": [ec_key().public_jwk, jwk]})
    assert stored is None
    assert list(problems) == [f"signingKeys.keys[1].{member}"]
    assert "public keys only" in problems[f"signingKeys.keys[1].{member}"]


def test_a_whole_private_rsa_jwk_is_refused_without_echoing_it():
    private = rsa_key().private_jwk
    stored, problems = clean({"keys": [private]})
    assert stored is None
    assert set(problems) == {f"signingKeys.keys[0].{m}" for m in ("d", "p", "q", "dp", "dq", "qi")}
    assert not any(private["d"][:16] in message for message in problems.values())


def test_it_refuses_rsa_1024():
    _, problems = clean({"keys": [rsa_key(bits=1024).public_jwk]})
    assert problems == {"signingKeys.keys[0].n": "RSA keys must have 2048 to 4096 bits "
                        "(this one has 1024)."}  # fmt: skip


def test_it_refuses_symmetric_keys_other_curves_and_points_off_the_curve():
    p384 = {**ec_key().public_jwk, "crv": "P-384"}
    off_curve = {**ec_key().public_jwk, "y": ec_key().public_jwk["x"]}
    _, problems = clean({"keys": [{"kty": "oct", "kid": "h"}, p384, off_curve]})
    assert problems == {
        "signingKeys.keys[0].kty": "Must be RSA, EC (P-256) or OKP (Ed25519).",
        "signingKeys.keys[1].crv": "EC keys must be on P-256 (ES256).",
        "signingKeys.keys[2]": "Not a point on P-256.",
    }


def test_it_wants_distinct_kids_and_bounds_the_count():
    a, b = ec_key("same").public_jwk, ec_key("same").public_jwk
    _, problems = clean({"keys": [a, b]})
    assert problems == {"signingKeys.keys[1].kid": "Another key has this kid."}
    _, problems = clean({"keys": [{**a, "kid": f"k{i}"} for i in range(MAX_KEYS + 1)]})
    assert problems == {"signingKeys.keys": f"Must have at most {MAX_KEYS} items."}
    _, problems = clean({"keys": [{k: v for k, v in a.items() if k != "kid"}]})
    assert list(problems) == ["signingKeys.keys[0].kid"]


def test_it_refuses_what_is_not_a_jwks():
    assert clean(None) == ({"keys": []}, {})
    assert clean([ec_key().public_jwk])[1] == {
        "signingKeys": 'Must be a JWKS: {"keys": [public JWKs]}.'
    }
    assert list(clean({"keys": [{**ec_key().public_jwk, "alg": "RS256"}]})[1]) == [
        "signingKeys.keys[0].alg"
    ]
    assert list(clean({"keys": [{**ec_key().public_jwk, "x": "AA=="}]})[1]) == [
        "signingKeys.keys[0].x"
    ]


# --- Verifying tokens -------------------------------------------------------------------


@pytest.mark.parametrize("make", [rsa_key, ec_key, ed_key, lambda: rsa_key(alg="PS256")])
def test_it_verifies_each_kind_of_key(make):
    key = make()
    stored, _ = clean({"keys": [key.public_jwk]})
    assert verify(key.sign(claims()), stored["keys"])["sub"] == "user-1"


def test_it_refuses_alg_none_and_hs256_signed_with_the_public_key():
    key = rsa_key()
    stored, _ = clean({"keys": [key.public_jwk]})
    assert refusal(unsigned(claims(), kid=key.kid), stored["keys"]) == "algorithm_not_allowed"
    assert refusal(hs256_with_public_key(key, claims()), stored["keys"]) == "algorithm_not_allowed"


def test_it_refuses_a_key_used_with_another_kind_of_algorithm():
    rsa, ec = rsa_key(), ec_key(kid="rsa-1")  # the EC key claims the RSA key's kid
    stored, _ = clean({"keys": [rsa.public_jwk]})
    assert refusal(ec.sign(claims()), stored["keys"]) == "algorithm_not_allowed"


def test_it_refuses_unknown_kids_and_wants_a_kid_among_several_keys():
    a, b = ec_key("a"), ec_key("b")
    stored, _ = clean({"keys": [a.public_jwk, b.public_jwk]})
    assert refusal(a.sign(claims(), kid="c"), stored["keys"]) == "unknown_kid"
    assert refusal(a.sign(claims(), kid="../" * 3000), stored["keys"]) in ("bad_kid", "malformed")
    token = a.sign(claims(), kid=None)
    assert refusal(token, stored["keys"]) == "no_kid"
    assert verify(token, stored["keys"][:1])["sub"] == "user-1"  # one key: no kid needed


def test_it_checks_the_claims_with_a_minute_of_leeway():
    key = ec_key()
    keys = clean({"keys": [key.public_jwk]})[0]["keys"]
    now = int(time.time())
    assert verify(key.sign(claims(exp=now - 30)), keys)  # within the leeway
    assert refusal(key.sign(claims(exp=now - 90)), keys) == "expired"
    assert refusal(key.sign(claims(nbf=now + 90)), keys) == "not_yet_valid"
    assert refusal(key.sign(claims(iat=now + 90)), keys) == "not_yet_valid"
    assert refusal(key.sign(claims(aud="other")), keys) == "wrong_audience"
    assert refusal(key.sign(claims(exp=None)), keys) == "missing_claim"
    assert refusal(key.sign(claims(iss="https://a/")), keys, issuer="https://a") == "wrong_issuer"
    far = key.sign(claims(exp=now + 16 * 60 + 30))
    assert refusal(far, keys, max_seconds_ahead=900) == "exp_too_far"
    assert verify(key.sign(claims(exp=now + 15 * 60 + 30)), keys, max_seconds_ahead=900)


def test_it_refuses_a_tampered_token_and_a_hub_without_keys():
    key = ec_key()
    keys = clean({"keys": [key.public_jwk]})[0]["keys"]
    head, _body, sig = key.sign(claims()).split(".")
    other = key.sign(claims(sub="admin")).split(".")[1]
    assert refusal(f"{head}.{other}.{sig}", keys) == "bad_signature"
    assert refusal(key.sign(claims()), []) == "no_keys"
    assert refusal("not-a-jwt", keys) == "malformed"
    assert refusal(key.sign(claims(), crit=["exp"]), keys) in ("unsupported_header", "malformed")
