"""Refusals leave a trace (``core.logs.refusal``): API-key authentication and tenancy log one
record per refusal, with its code, reason and ids, at WARNING when it smells of an attack or a
misconfiguration and INFO otherwise, and no record holds the API key. (The OAuth flow's, the
connect sessions' and the outbound seam's are tested beside their other tests.)"""

from __future__ import annotations

import logging
from datetime import timedelta
from logging import INFO, WARNING

import pytest
from django.utils import timezone

from core.logs import refusal
from organisations.models import ApiKey


def test_the_helper_writes_a_stable_one_line_message_with_the_ids_as_extra(refusals):
    refusal(logging.getLogger("tests"), "blocked", level=WARNING, host="a\nb c", gone=None)
    (record,) = refusals.records
    assert record.levelno == WARNING
    assert record.getMessage() == "refused blocked host=a?b?c"
    assert record.refusal == "blocked"
    assert record.refusal_ids == {"host": "a?b?c"}


# --- API keys --------------------------------------------------------------------------------


def _prefix(key: str) -> str:
    return key.split("_")[1]


def _secret_part(key: str) -> str:
    return key.split("_", 2)[2]


def key_ids(api_key: ApiKey) -> dict[str, object]:
    return {
        "api_key_prefix": api_key.prefix,
        "api_key_id": api_key.pk,
        "organisation_id": api_key.organisation_id,
    }


def _call(anonymous, actor, header: str) -> int:
    anonymous.credentials(HTTP_AUTHORIZATION=header)
    return anonymous.get(actor.url("connectors")).status_code


def test_a_wrong_secret_for_a_known_prefix_is_a_warning_naming_the_key(anonymous, alice, refusals):
    wrong = f"pb_{_prefix(alice.key)}_{'x' * 43}"
    assert _call(anonymous, alice, f"Bearer {wrong}") == 401
    api_key = ApiKey.objects.get(organisation=alice.organisation)
    record = refusals.one(WARNING, "unauthenticated", "wrong_api_key", **key_ids(api_key))
    assert record.name == "organisations.authentication"
    refusals.none_hold(wrong, _secret_part(wrong), alice.key, _secret_part(alice.key))


def test_an_unknown_key_is_a_warning_with_its_prefix_only(anonymous, alice, refusals):
    unknown = "pb_0123456789ab_" + "y" * 43
    _call(anonymous, alice, f"Bearer {unknown}")
    refusals.one(WARNING, "unauthenticated", "unknown_api_key", api_key_prefix="0123456789ab")
    refusals.none_hold(unknown, _secret_part(unknown))


@pytest.mark.parametrize("garbage", ["not-a-key-at-all-z9", "pb_short_zzzzzzzzzz"])
def test_a_malformed_key_is_a_warning(anonymous, alice, refusals, garbage):
    _call(anonymous, alice, f"Bearer {garbage}")
    refusals.one(WARNING, "unauthenticated", "malformed_api_key")
    refusals.none_hold(garbage)


def test_a_revoked_key_is_a_warning_and_an_expired_one_info(anonymous, alice, refusals):
    ApiKey.objects.update(revoked_at=timezone.now())
    _call(anonymous, alice, f"Bearer {alice.key}")
    api_key = ApiKey.objects.get()
    refusals.one(WARNING, "unauthenticated", "revoked_api_key", **key_ids(api_key))
    ApiKey.objects.update(revoked_at=None, expires_at=timezone.now() - timedelta(seconds=1))
    _call(anonymous, alice, f"Bearer {alice.key}")
    refusals.one(INFO, "unauthenticated", "expired_api_key", **key_ids(api_key))
    refusals.none_hold(alice.key, _secret_part(alice.key))


def test_an_empty_bearer_is_info(anonymous, alice, refusals):
    _call(anonymous, alice, "Bearer ")
    refusals.one(INFO, "unauthenticated", "empty_bearer")


@pytest.mark.parametrize("param", ["api_key", "anything"])
def test_a_key_in_the_url_is_a_warning_naming_its_prefix_to_revoke(
    anonymous, alice, refusals, param
):
    response = anonymous.get(alice.url("connectors"), {param: alice.key})
    assert response.status_code == 401
    prefix = _prefix(alice.key)
    record = refusals.one(WARNING, "unauthenticated", "api_key_in_query", api_key_prefix=prefix)
    assert ("parameter" in record.refusal_ids) == (param == "api_key")
    refusals.none_hold(alice.key, _secret_part(alice.key))


def test_a_key_under_another_organisations_path_is_a_warning(alice, charlie, refusals):
    assert alice.client.get(charlie.url("connectors")).status_code == 404
    api_key = ApiKey.objects.get(organisation=alice.organisation)
    ids = {**key_ids(api_key), "requested_organisation_id": charlie.org_id}
    record = refusals.one(WARNING, "not_found", "another_organisation", **ids)
    assert record.name == "organisations.tenancy"
    refusals.none_hold(alice.key, _secret_part(alice.key))


def test_a_good_key_leaves_no_refusal(alice, refusals):
    assert alice.client.get(alice.url("connectors")).status_code == 200
    assert refusals.records == []
