"""A hub's ``signingKeys`` (SPEC §11): registered through the hub API and the admin, public
keys only, strong keys only, never another organisation's hub."""

from __future__ import annotations

import json

import pytest

from embed.models import Hub
from tests.embed.test_models_api import hub_body, operator  # noqa: F401 (fixture)
from tests.jwt_keys import ec_key, ed_key, rsa_key

pytestmark = pytest.mark.django_db


def stored_keys(hub) -> dict:
    return Hub.objects.get(pk=hub.hub.pk).signing_keys


def test_it_registers_reads_replaces_and_clears_signing_keys(alice, hub):
    rsa, ec, ed = rsa_key(), ec_key(), ed_key()
    exported = {**rsa.public_jwk, "alg": "RS256", "use": "sig", "key_ops": ["verify"]}
    response = alice.client.post(
        alice.url("hubs"), hub_body(signingKeys={"keys": [exported, ec.public_jwk]}), format="json"
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    keys = created["signingKeys"]["keys"]
    assert [k["kid"] for k in keys] == ["rsa-1", "ec-1"]
    # Only what defines each key is kept (and echoed).
    assert keys[0] == {"kty": "RSA", "kid": "rsa-1", "n": rsa.public_jwk["n"], "e": "AQAB",
                       "alg": "RS256", "use": "sig"}  # fmt: skip
    assert alice.client.get(alice.url(f"hubs/{created['id']}")).json()["signingKeys"] == {
        "keys": keys
    }

    url = hub.admin_url()
    response = alice.client.patch(url, {"signingKeys": {"keys": [ed.public_jwk]}}, format="json")
    assert response.status_code == 200, response.json()
    assert [k["kid"] for k in response.json()["signingKeys"]["keys"]] == ["ed-1"]
    assert stored_keys(hub)["keys"][0]["crv"] == "Ed25519"
    # A PATCH without the key leaves it; null clears it.
    assert alice.client.patch(url, {"name": "Renamed"}, format="json").status_code == 200
    assert len(stored_keys(hub)["keys"]) == 1
    response = alice.client.patch(url, {"signingKeys": None}, format="json")
    assert response.json()["signingKeys"] == {"keys": []}
    assert stored_keys(hub) == {"keys": []}


def test_a_key_with_a_private_part_is_refused_at_registration(alice, hub, assert_no_secrets):
    private = rsa_key().private_jwk
    response = alice.client.patch(
        hub.admin_url(), {"signingKeys": {"keys": [ec_key().public_jwk, private]}}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request"
    fields = {f["field"] for f in body["fields"]}
    assert fields == {f"signingKeys.keys[1].{m}" for m in ("d", "p", "q", "dp", "dq", "qi")}
    assert "public keys only" in body["fields"][0]["message"]
    assert stored_keys(hub) == {"keys": []}  # nothing stored, not even the public one
    assert_no_secrets(private["d"], private["p"], texts=[response.content.decode()])


def test_a_symmetric_key_is_refused(alice, hub):
    response = alice.client.patch(
        hub.admin_url(),
        {"signingKeys": {"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}},
        format="json",
    )
    assert response.status_code == 400
    assert [f["field"] for f in response.json()["fields"]] == ["signingKeys.keys[0].k"]
    assert "c2VjcmV0" not in response.content.decode()


@pytest.mark.parametrize(
    ("keys", "field", "message"),
    [
        ([rsa_key(bits=1024).public_jwk], "signingKeys.keys[0].n", "2048 to 4096 bits"),
        ([{**ec_key().public_jwk, "crv": "P-384"}], "signingKeys.keys[0].crv", "P-256"),
        ([ec_key("a").public_jwk, ec_key("a").public_jwk], "signingKeys.keys[1].kid", "Another"),
        ([{**ec_key().public_jwk, "kid": ""}], "signingKeys.keys[0].kid", "Required"),
        ([ec_key(f"k{i}").public_jwk for i in range(11)], "signingKeys.keys", "at most 10"),
        ([{**ec_key().public_jwk, "x5u": "https://x"}], "signingKeys.keys[0].x5u", "Unknown"),
        ([{**ec_key().public_jwk, "n": "A" * 5000}], "signingKeys.keys[0]", "at most 4096"),
    ],
)
def test_weak_malformed_or_too_many_keys_are_refused(alice, hub, keys, field, message):
    response = alice.client.patch(hub.admin_url(), {"signingKeys": {"keys": keys}}, format="json")
    assert response.status_code == 400
    problems = {f["field"]: f["message"] for f in response.json()["fields"]}
    assert field in problems, problems
    assert message in problems[field]
    assert stored_keys(hub) == {"keys": []}


@pytest.mark.parametrize("value", [[], "jwks", {"keys": "x"}, {"keys": [], "extra": 1}])
def test_what_is_not_a_jwks_is_refused(alice, hub, value):
    response = alice.client.patch(hub.admin_url(), {"signingKeys": value}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"].startswith("signingKeys")


def test_an_outsider_cannot_read_or_set_another_organisations_keys(alice, charlie, hub):
    Hub.objects.filter(pk=hub.hub.pk).update(signing_keys={"keys": [ec_key().public_jwk]})
    url = hub.admin_url()  # alice's hub, under alice's organisation
    assert charlie.client.get(url).status_code == 404
    response = charlie.client.patch(
        url, {"signingKeys": {"keys": [ec_key("charlie").public_jwk]}}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    # And under his own organisation's path, alice's hub id is no hub of his.
    own = charlie.url(f"hubs/{hub.id}")
    assert charlie.client.patch(own, {"signingKeys": None}, format="json").status_code == 404
    assert [k["kid"] for k in stored_keys(hub)["keys"]] == ["ec-1"]


# --- Admin -----------------------------------------------------------------------------


def admin_form(hub, signing_keys: str) -> dict:
    return {
        "organisation": hub.owner.org_id,
        "name": "Alice hub",
        "connectors": [str(hub.api_key.pk), str(hub.oauth2.pk)],
        "allowed_origins": '["https://app.example.com"]',
        "return_urls": "[]",
        "branding_title": "",
        "branding_logo_url": "",
        "branding_accent_color": "#112233",
        "signing_keys": signing_keys,
    }


def test_the_admin_registers_public_keys(operator, hub):  # noqa: F811
    jwk = ec_key().public_jwk
    response = operator.post(
        f"/admin/embed/hub/{hub.id}/change/", admin_form(hub, json.dumps({"keys": [jwk]}))
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert stored_keys(hub) == {"keys": [{"kty": "EC", "kid": "ec-1", "crv": "P-256",
                                          "x": jwk["x"], "y": jwk["y"]}]}  # fmt: skip
    assert operator.get("/admin/embed/endusertokenuse/").status_code == 200


def test_the_admin_refuses_a_private_key_and_does_not_show_it_again(operator, hub):  # noqa: F811
    private = ec_key().private_jwk
    response = operator.post(
        f"/admin/embed/hub/{hub.id}/change/", admin_form(hub, json.dumps({"keys": [private]}))
    )
    assert response.status_code == 200  # the form again, with the error
    page = response.content.decode()
    assert "signing_keys.keys[0].d: A private or symmetric key member" in page
    assert private["d"] not in page
    assert stored_keys(hub) == {"keys": []}
    # The other fields are shown as they were sent (both connectors still selected).
    assert page.count("selected") >= 2
