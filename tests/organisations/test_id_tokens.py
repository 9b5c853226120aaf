"""Internal consumers' JWT id_tokens (SPEC §11), against a real IdP on loopback.

Actors: **alice** owns the organisation under test; **charlie** is another organisation
the same IdP vouches for. The IdP (``tests.organisations.idp_server``) serves discovery
and JWKS over HTTP and signs real RS256, ES256, PS256 and EdDSA tokens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from connectors.models import Connector
from organisations import idp as idp_keys
from tests.jwt_keys import b64url, hs256_with_public_key, unsigned
from tests.organisations.idp_server import Idp, make_key, serve_idp

CONNECTOR = {
    "name": "Made by a token",
    "authSchemeConfigs": [{"id": "key", "type": "api-key", "apiKey": {"name": "k"}}],
}


@pytest.fixture
def idp(settings: Any) -> Iterator[Idp]:
    with serve_idp() as server:
        settings.PATCHBAY_IDP_ISSUER = server.issuer
        settings.PATCHBAY_IDP_AUDIENCE = server.audience
        settings.PATCHBAY_HTTP_IDP_DEADLINE = 1.0
        cache.clear()
        idp_keys.forget()
        yield server
        idp_keys.forget()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``clock.advance(seconds)`` moves the IdP key cache's time on."""
    import time

    class Clock:
        offset = 0.0

        def advance(self, seconds: float) -> None:
            self.offset += seconds

    c = Clock()
    monkeypatch.setattr(idp_keys, "clock", lambda: time.time() + c.offset)
    return c


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def assert_invalid_token(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "invalid_token"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def _b64(data: dict[str, Any]) -> str:
    return b64url(json.dumps(data).encode())


# --- Accepted ---------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
def test_it_accepts_an_id_token_on_its_organisations_paths(idp, alice, kid, refusals):
    token = idp.token(alice.org_id, key=idp.key(kid))
    client = bearer(token)
    listed = client.get(alice.url("connectors"))
    assert listed.status_code == 200, listed.content
    created = client.post(alice.url("connectors"), CONNECTOR, format="json")
    assert created.status_code == 201, created.content
    assert Connector.objects.get(pk=created.json()["id"]).organisation == alice.organisation
    refusals.none_hold(token)  # the token is in no log record, accepted either


@pytest.mark.parametrize("alg", ["PS256", "EdDSA"])
def test_it_accepts_other_asymmetric_algorithms(idp, alice, alg):
    idp.keys.append(make_key(f"{alg}-1", alg))
    response = bearer(idp.token(alice.org_id, key=idp.keys[-1])).get(alice.url("connectors"))
    assert response.status_code == 200, response.content


def test_it_fetches_the_keys_once_for_many_requests(idp, alice):
    client = bearer(idp.token(alice.org_id))
    for _ in range(5):
        assert client.get(alice.url("connectors")).status_code == 200
    assert (idp.discovery_requests, idp.jwks_requests) == (1, 1)


def test_the_key_set_one_process_fetched_serves_another(idp, alice):
    client = bearer(idp.token(alice.org_id))
    assert client.get(alice.url("connectors")).status_code == 200
    idp_keys.forget()  # another process: its own memory is empty, the shared cache is not
    assert client.get(alice.url("connectors")).status_code == 200
    assert idp.jwks_requests == 1


def test_it_accepts_an_audience_list_that_contains_patchbay(idp, alice):
    token = idp.token(alice.org_id, aud=["another-service", idp.audience])
    assert bearer(token).get(alice.url("connectors")).status_code == 200


def test_it_allows_sixty_seconds_of_clock_skew(idp, alice):
    import time

    now = int(time.time())
    token = idp.token(alice.org_id, exp=now - 50, nbf=now + 50, iat=now + 50)
    assert bearer(token).get(alice.url("connectors")).status_code == 200


def test_keys_patchbay_does_not_take_are_left_out_of_the_idps_set(idp, alice):
    leaked, encrypting, azure = make_key("leaked"), make_key("enc"), make_key("azure")
    idp.extra_jwks = [
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {**encrypting.public_jwk, "use": "enc"},
        {**azure.public_jwk, "issuer": idp.issuer, "x5t": "abc"},  # members of its own
        leaked.private_jwk,
    ]
    assert bearer(idp.token(alice.org_id)).get(alice.url("connectors")).status_code == 200
    ok = bearer(idp.token(alice.org_id, key=azure)).get(alice.url("connectors"))
    assert ok.status_code == 200, ok.content
    for refused in (leaked, encrypting):
        token = idp.token(alice.org_id, key=refused)
        assert_invalid_token(bearer(token).get(alice.url("connectors")))
    hmac = jwt.encode({"iss": idp.issuer}, "s" * 32, algorithm="HS256", headers={"kid": "hmac"})
    assert_invalid_token(bearer(hmac).get(alice.url("connectors")))


def test_api_keys_keep_working_beside_id_tokens(idp, alice):
    assert alice.client.get(alice.url("connectors")).status_code == 200
    assert idp.jwks_requests == 0  # an API key never touches the IdP


# --- Refused: 401 invalid_token, nothing done ---------------------------------------


def _claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _none_token(idp: Idp, organisation_id: str) -> str:
    return unsigned(_claims_of(idp.token(organisation_id)), kid="rsa-1", typ="JWT")


def _confused_token(idp: Idp, organisation_id: str) -> str:
    """HS256 with the RSA public key's PEM as the HMAC secret (algorithm confusion)."""
    return hs256_with_public_key(idp.keys[0], _claims_of(idp.token(organisation_id)))


HOSTILE = {
    "alg_none": lambda idp, org: _none_token(idp, org),
    "hs256_with_the_public_key": lambda idp, org: _confused_token(idp, org),
    "unknown_kid": lambda idp, org: idp.token(org, key=make_key("rsa-1"), headers={"kid": "x9"}),
    "kid_path_traversal": lambda idp, org: idp.token(
        org, key=make_key("x"), headers={"kid": "../../../../etc/passwd"}
    ),
    "kid_10kb": lambda idp, org: idp.token(org, headers={"kid": "k" * 10_240}),
    "forged_with_another_key_same_kid": lambda idp, org: idp.token(org, key=make_key("rsa-1")),
    "expired": lambda idp, org: idp.token(org, exp=1_000_000_000, iat=999_999_000),
    "nbf_in_the_future": lambda idp, org: idp.token(org, nbf=4_000_000_000),
    "iat_in_the_future": lambda idp, org: idp.token(org, iat=4_000_000_000),
    "no_exp": lambda idp, org: idp.token(org, exp=None),
    "iss_trailing_slash": lambda idp, org: idp.token(org, iss=idp.issuer + "/"),
    "iss_other_case": lambda idp, org: idp.token(org, iss=idp.issuer.upper()),
    "no_iss": lambda idp, org: idp.token(org, iss=None),
    "wrong_aud": lambda idp, org: idp.token(org, aud="another-service"),
    "no_aud": lambda idp, org: idp.token(org, aud=None),
    "no_organisation_claim": lambda idp, org: idp.token(org, org_id=None),
    "organisation_claim_not_an_id": lambda idp, org: idp.token(org, org_id="Alice Ltd"),
    "organisation_claim_of_no_organisation": lambda idp, org: idp.token(
        "6f1c1c1e-0000-4000-8000-000000000000"
    ),
    "tampered_payload": lambda idp, org: ".".join(
        [idp.token(org).split(".")[0], _b64({"org_id": org, "iss": idp.issuer}), "c2ln"]
    ),
    "garbage_with_two_dots": lambda idp, org: "eyJnot-json.with.dots",
}


# The reason the operator's log gives for each.
REASONS = {
    "alg_none": "algorithm_not_allowed",
    "hs256_with_the_public_key": "algorithm_not_allowed",
    "unknown_kid": "unknown_kid",
    "kid_path_traversal": "unknown_kid",
    "kid_10kb": "malformed",
    "forged_with_another_key_same_kid": "bad_signature",
    "expired": "expired",
    "nbf_in_the_future": "not_yet_valid",
    "iat_in_the_future": "not_yet_valid",
    "no_exp": "missing_claim",
    "iss_trailing_slash": "wrong_issuer",
    "iss_other_case": "wrong_issuer",
    "no_iss": "missing_claim",
    "wrong_aud": "wrong_audience",
    "no_aud": "missing_claim",
    "no_organisation_claim": "missing_organisation",
    "organisation_claim_not_an_id": "unknown_organisation",
    "organisation_claim_of_no_organisation": "unknown_organisation",
    "tampered_payload": "bad_signature",
    "garbage_with_two_dots": "malformed",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_token_is_refused_and_nothing_is_done(idp, alice, refusals, case):
    token = HOSTILE[case](idp, alice.org_id)
    before = Connector.objects.count()
    response = bearer(token).post(alice.url("connectors"), CONNECTOR, format="json")
    assert_invalid_token(response)
    assert Connector.objects.count() == before
    level = logging.INFO if case == "expired" else logging.WARNING
    refusals.one(level, "invalid_token", REASONS[case])
    refusals.none_hold(token)
    assert idp.jwks_requests <= 2  # the first fetch, at most one refetch


def test_the_refusal_names_its_reason(idp, alice, refusals):
    bearer(idp.token(alice.org_id, aud="another-service")).get(alice.url("connectors"))
    refusals.one(logging.WARNING, "invalid_token", "wrong_audience", kid="rsa-1")


def test_an_expired_token_is_logged_at_info(idp, alice, refusals):
    bearer(idp.token(alice.org_id, exp=1_000_000_000, iat=999_999_000)).get(alice.url("connectors"))
    refusals.one(logging.INFO, "invalid_token", "expired")


def test_another_organisations_token_on_this_organisations_path_is_404(idp, alice, charlie):
    response = bearer(idp.token(charlie.org_id)).get(alice.url("connectors"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_without_an_idp_a_jwt_is_refused(settings, alice):
    settings.PATCHBAY_IDP_ISSUER = ""
    token = jwt.encode({"org_id": alice.org_id}, "x" * 32, algorithm="HS256")
    assert_invalid_token(bearer(token).get(alice.url("connectors")))


# --- Keys rotated, the refetch window ----------------------------------------------


def test_a_rotated_key_is_fetched_on_its_first_unknown_kid(idp, alice):
    assert bearer(idp.token(alice.org_id)).get(alice.url("connectors")).status_code == 200
    idp.keys.insert(0, make_key("rsa-2"))
    response = bearer(idp.token(alice.org_id)).get(alice.url("connectors"))
    assert response.status_code == 200, response.content
    assert idp.jwks_requests == 2


def test_a_key_the_idp_rotated_out_is_refused_after_the_refetch_window(idp, alice, clock):
    old = idp.token(alice.org_id)
    assert bearer(old).get(alice.url("connectors")).status_code == 200
    # A first unknown kid inside the window refetches once...
    idp.keys = [make_key("rsa-2")]
    assert bearer(idp.token(alice.org_id)).get(alice.url("connectors")).status_code == 200
    assert_invalid_token(bearer(old).get(alice.url("connectors")))
    # ...and the next rotation waits for the window to pass.
    idp.keys = [make_key("rsa-3")]
    newest = idp.token(alice.org_id)
    assert_invalid_token(bearer(newest).get(alice.url("connectors")))
    clock.advance(61)
    assert bearer(newest).get(alice.url("connectors")).status_code == 200
    assert idp.jwks_requests == 3


def test_a_process_takes_the_keys_another_refetched_without_fetching(idp, alice):
    import copy

    assert bearer(idp.token(alice.org_id)).get(alice.url("connectors")).status_code == 200
    other_process = copy.deepcopy(idp_keys._state)  # same keys, its own memory
    idp.keys.insert(0, make_key("rsa-2"))
    rotated = bearer(idp.token(alice.org_id))
    assert rotated.get(alice.url("connectors")).status_code == 200  # this one refetches
    idp_keys._state = other_process
    assert rotated.get(alice.url("connectors")).status_code == 200  # that one reads the cache
    assert idp.jwks_requests == 2


def test_a_flood_of_unknown_kids_costs_one_jwks_fetch_a_minute(idp, alice, clock):
    assert bearer(idp.token(alice.org_id)).get(alice.url("connectors")).status_code == 200
    for n in range(30):
        token = idp.token(alice.org_id, key=make_key(f"made-up-{n}"))
        assert_invalid_token(bearer(token).get(alice.url("connectors")))
    assert idp.jwks_requests == 2  # the first fetch, one refetch
    idp_keys.forget()  # another process shares the gate
    bearer(idp.token(alice.org_id, key=make_key("made-up-x"))).get(alice.url("connectors"))
    assert idp.jwks_requests == 2
    clock.advance(61)
    assert_invalid_token(
        bearer(idp.token(alice.org_id, key=make_key("made-up-y"))).get(alice.url("connectors"))
    )
    assert idp.jwks_requests == 3


# --- A broken IdP: 503 or 401, never a hang or a 500 --------------------------------


@pytest.mark.parametrize("misbehaviour", ["slow", "huge", "html", "500"])
def test_a_broken_jwks_endpoint_answers_503(idp, alice, misbehaviour, refusals):
    idp.misbehave = misbehaviour
    before = Connector.objects.count()
    response = bearer(idp.token(alice.org_id)).post(alice.url("connectors"), CONNECTOR)
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "idp_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert Connector.objects.count() == before
    assert [r for r in refusals.records if r.refusal == "idp_unavailable"]


def test_a_broken_jwks_endpoint_on_refetch_keeps_the_keys_it_had(idp, alice):
    assert bearer(idp.token(alice.org_id)).get(alice.url("connectors")).status_code == 200
    idp.misbehave = "html"
    stranger = idp.token(alice.org_id, key=make_key("rsa-9"))
    assert_invalid_token(bearer(stranger).get(alice.url("connectors")))
    assert bearer(idp.token(alice.org_id)).get(alice.url("connectors")).status_code == 200


def test_a_discovery_document_for_another_issuer_is_refused(idp, alice, settings):
    settings.PATCHBAY_IDP_ISSUER = idp.issuer + "/"  # discovery says the issuer without it
    response = bearer(idp.token(alice.org_id, iss=idp.issuer + "/")).get(alice.url("connectors"))
    assert response.status_code == 503
    assert response.json()["code"] == "idp_unavailable"
