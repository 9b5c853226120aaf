"""Company-signed end-user tokens (SPEC §11): the widget's embed API accepts a JWT signed
with a key in the hub's ``signingKeys`` where it accepts a connect session token."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as db
from django.utils import timezone

from embed.models import ConnectSession, EndUser, EndUserTokenUse, Hub
from tests.conftest import Actor
from tests.embed.conftest import EmbedHub, embed_client, make_hub
from tests.jwt_keys import (
    SigningKey,
    claims,
    ec_key,
    ed_key,
    hs256_with_public_key,
    rsa_key,
    unsigned,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def company_key(hub: EmbedHub) -> SigningKey:
    """Alice's company key, registered on her hub (with a second one beside it)."""
    key = rsa_key("acme-2026")
    Hub.objects.filter(pk=hub.hub.pk).update(
        signing_keys={"keys": [ec_key("acme-old").public_jwk, key.public_jwk]}
    )
    hub.hub.refresh_from_db()
    return key


_jti = iter(range(10**6))


def another_hub(owner: Actor, name: str) -> EmbedHub:
    return make_hub(
        owner,
        authorize_url="https://login.example.com/authorize",
        token_url="https://login.example.com/token",
        client_id="client-2",
        client_secret="cs-second-hub-secret-0123456789",
        name=name,
    )


def token_for(hub: EmbedHub, key: SigningKey, **overrides) -> str:
    overrides.setdefault("aud", hub.id)
    overrides.setdefault("jti", f"jti-{next(_jti)}-{time.time_ns()}")
    return key.sign(claims(**overrides))


def exchange(hub: EmbedHub, token: str):
    return embed_client(token).post(hub.url("session"))


def refused(response, message: str) -> None:
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["code"] == "invalid_token"
    assert message in body["message"], body["message"]
    assert response["WWW-Authenticate"] == 'Bearer realm="patchbay-embed", error="invalid_token"'
    assert response["Cache-Control"] == "no-store"


# --- Accepted ---------------------------------------------------------------------------


def test_it_trades_a_signed_token_for_a_session_and_creates_the_end_user(
    hub, company_key, assert_no_secrets
):
    token = token_for(hub, company_key, sub="cust-42", name="Ada Lovelace")
    response = exchange(hub, token)
    assert response.status_code == 201, response.json()
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert set(data) == {"token", "expiresAt"}
    assert data["token"].startswith("pbs_")
    user = EndUser.objects.get()
    assert (user.external_id, user.display_name, user.hub) == ("cust-42", "Ada Lovelace", hub.hub)
    session = ConnectSession.objects.get()
    assert session.end_user == user
    assert session.organisation == hub.owner.organisation
    # It lasts as long as the token could be used: its exp (5 minutes) plus the leeway.
    expected = timezone.now() + timedelta(minutes=5, seconds=60)
    assert abs((session.expires_at - expected).total_seconds()) < 5

    # The session token works as a minted one does.
    minted = embed_client(data["token"]).get(hub.url("session"))
    assert minted.status_code == 200
    assert minted.json()["endUser"]["externalId"] == "cust-42"
    assert_no_secrets(token, data["token"], token.split(".")[2])


def test_it_accepts_each_kind_of_key_on_any_embed_call_once(hub):
    keys = [rsa_key("r"), rsa_key("p", alg="PS256"), ec_key("e"), ed_key("d")]
    Hub.objects.filter(pk=hub.hub.pk).update(signing_keys={"keys": [k.public_jwk for k in keys]})
    for key in keys:
        response = embed_client(token_for(hub, key)).get(hub.url("connectors"))
        assert response.status_code == 200, (key.alg, response.json())
        assert {c["id"] for c in response.json()["items"]} >= {str(hub.api_key.pk)}
    assert ConnectSession.objects.count() == 4
    assert EndUser.objects.count() == 1  # the same sub each time


def test_a_later_token_reuses_the_end_user_and_updates_the_name_when_given(hub, company_key):
    assert exchange(hub, token_for(hub, company_key, name="Ada")).status_code == 201
    assert exchange(hub, token_for(hub, company_key)).status_code == 201
    assert EndUser.objects.get().display_name == "Ada"
    assert exchange(hub, token_for(hub, company_key, name="Ada L.")).status_code == 201
    assert EndUser.objects.get().display_name == "Ada L."


def test_exp_up_to_fifteen_minutes_ahead_and_a_minute_late_is_accepted(hub, company_key):
    now = int(time.time())
    assert exchange(hub, token_for(hub, company_key, exp=now + 15 * 60 + 30)).status_code == 201
    assert exchange(hub, token_for(hub, company_key, exp=now - 30)).status_code == 201
    latest = ConnectSession.objects.order_by("-created_at").first()
    assert latest is not None
    assert latest.expires_at > timezone.now()  # usable for the rest of the leeway


# --- Refused ----------------------------------------------------------------------------


def test_a_replayed_jti_is_refused(hub, company_key, refusals):
    token = token_for(hub, company_key, jti="once")
    assert exchange(hub, token).status_code == 201
    refused(exchange(hub, token), "used already")
    # Another token with the same jti is the same replay.
    refused(exchange(hub, token_for(hub, company_key, jti="once", sub="other")), "used already")
    assert ConnectSession.objects.count() == 1
    assert EndUser.objects.count() == 1
    replays = [r for r in refusals.records if r.refusal_ids.get("reason") == "replayed"]
    assert [r.levelname for r in replays] == ["WARNING", "WARNING"]
    assert all(f"hub_id={hub.id}" in r.getMessage() for r in replays)
    refusals.none_hold(token)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uses_of_one_token_let_exactly_one_in(alice: Actor):
    hub = another_hub(alice, "Raced hub")
    key = ec_key()
    Hub.objects.filter(pk=hub.hub.pk).update(signing_keys={"keys": [key.public_jwk]})
    token = token_for(hub, key, jti="raced")
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def use() -> None:
        try:
            barrier.wait()
            statuses.append(exchange(hub, token).status_code)
        finally:
            db.close()

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 401, 401, 401]
    assert ConnectSession.objects.count() == 1
    assert EndUserTokenUse.objects.count() == 1


def test_a_token_for_another_hub_is_refused(alice, hub, company_key):
    other = another_hub(alice, "Second hub")
    Hub.objects.filter(pk=other.hub.pk).update(signing_keys=hub.hub.signing_keys)  # same key
    token = token_for(other, company_key)  # aud: the other hub
    refused(exchange(hub, token), "aud")
    refused(exchange(hub, token_for(hub, company_key, aud=[other.id, "x"])), "aud")
    assert ConnectSession.objects.count() == 0
    assert exchange(hub, token_for(hub, company_key, aud=[hub.id, "x"])).status_code == 201


def test_a_token_signed_with_another_companys_key_is_refused(hub, company_key, charlie):
    charlie_key = rsa_key("acme-2026", bits=3072)  # claims alice's kid
    refused(exchange(hub, token_for(hub, charlie_key)), "signature")
    refused(exchange(hub, token_for(hub, ec_key("charlie"))), "kid")
    assert ConnectSession.objects.count() == 0


def test_exp_more_than_fifteen_minutes_ahead_is_refused(hub, company_key):
    far = token_for(hub, company_key, exp=int(time.time()) + 16 * 60 + 5)
    refused(exchange(hub, far), "at most 15 minutes ahead")
    assert EndUserTokenUse.objects.count() == 0


def test_an_expired_or_premature_token_is_refused(hub, company_key):
    now = int(time.time())
    refused(exchange(hub, token_for(hub, company_key, exp=now - 90)), "expired")
    refused(exchange(hub, token_for(hub, company_key, nbf=now + 120)), "not valid yet")
    refused(exchange(hub, token_for(hub, company_key, iat=now + 120)), "not valid yet")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": None}, "no exp claim"),
        ({"sub": None}, "no sub claim"),
        ({"jti": None}, "no jti claim"),
        ({"aud": None}, "no aud claim"),
        ({"sub": ""}, "sub must be a non-empty string"),
        ({"sub": "x" * 201}, "sub must be"),
        ({"sub": "a\nb"}, "sub must be"),
        ({"name": "x" * 201}, "name must be"),
        ({"jti": "j" * 201}, "jti must be"),
    ],
)
def test_missing_or_malformed_claims_are_refused(hub, company_key, overrides, message):
    token = company_key.sign(claims(**{"aud": hub.id, "jti": "j1", **overrides}))
    refused(exchange(hub, token), message)
    assert EndUser.objects.count() == 0


def test_a_hub_without_signing_keys_refuses_signed_tokens(hub):
    refused(exchange(hub, token_for(hub, ec_key())), "No signing keys")
    assert ConnectSession.objects.count() == 0


def test_alg_none_and_hs256_with_the_public_key_are_refused(hub, company_key, refusals):
    body = claims(aud=hub.id, jti="confused")
    refused(exchange(hub, unsigned(body, kid=company_key.kid)), "alg must be one of RS256")
    refused(exchange(hub, hs256_with_public_key(company_key, body)), "alg must be one of RS256")
    assert ConnectSession.objects.count() == 0
    assert EndUserTokenUse.objects.count() == 0
    assert len([r for r in refusals.records if r.refusal == "invalid_token"]) == 2


def test_a_signed_token_for_an_unknown_hub_is_404(hub, company_key):
    response = embed_client(token_for(hub, company_key)).post(
        "/api/v2/embed/00000000-0000-4000-8000-000000000000/session"
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_exchange_wants_a_signed_token_not_a_session_token(hub, session_token):
    response = embed_client(session_token).post(hub.url("session"))
    assert response.status_code == 400
    assert response.json()["code"] == "not_an_end_user_token"


def test_a_session_token_still_answers_invalid_session(hub, company_key):
    response = embed_client("pbs_unknown").get(hub.url("session"))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_session"
    tampered = token_for(hub, company_key)[:-4] + "AAAA"
    refused(embed_client(tampered).get(hub.url("session")), "signature")


def test_used_jtis_are_kept_until_their_token_expires(hub, company_key):
    assert exchange(hub, token_for(hub, company_key, jti="old")).status_code == 201
    used = EndUserTokenUse.objects.get()
    assert abs((used.expires_at - (timezone.now() + timedelta(minutes=6))).total_seconds()) < 5
    EndUserTokenUse.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert exchange(hub, token_for(hub, company_key, jti="new")).status_code == 201
    assert list(EndUserTokenUse.objects.values_list("jti", flat=True)) == ["new"]


def test_the_signed_token_path_costs_a_handful_of_queries(
    hub, company_key, django_assert_max_num_queries
):
    # The hub, the purge of spent jtis, the jti's insert, the end user (read, and created on
    # first use) and the session: six statements; the other eight are savepoints.
    with django_assert_max_num_queries(14):
        assert exchange(hub, token_for(hub, company_key)).status_code == 201
    with django_assert_max_num_queries(12):  # the end user exists now
        assert exchange(hub, token_for(hub, company_key)).status_code == 201
