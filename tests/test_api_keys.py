"""API keys and tenancy (SPEC §3)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from organisations.keys import api_key_create
from organisations.models import ApiKey, Organisation


def _get(client: APIClient, url: str, key: str | None = None):
    if key is None:
        return client.get(url)
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}")


def _assert_unauthenticated(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "unauthenticated"
    assert body["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_answers_with_the_callers_organisation(alice):
    response = alice.client.get(f"/api/v2/o/{alice.org_id}")
    assert response.status_code == 200
    assert response.json()["id"] == alice.org_id
    assert response.json()["name"] == "Alice Ltd"


def test_an_outsiders_key_gets_404_for_another_organisation(alice, charlie):
    response = charlie.client.get(f"/api/v2/o/{alice.org_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "Alice" not in response.content.decode()


@pytest.mark.parametrize(
    "bad_id", ["1 OR 1=1", "..%2Fx", "99999999999999999999999", "%00", "x" * 300]
)
def test_it_answers_404_for_ids_that_are_not_ids(alice, bad_id):
    response = alice.client.get(f"/api/v2/o/{bad_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_it_refuses_a_missing_key(anonymous, alice):
    _assert_unauthenticated(anonymous.get(f"/api/v2/o/{alice.org_id}"))


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer    "])
def test_it_refuses_bearer_without_a_key(anonymous, alice, header):
    _assert_unauthenticated(anonymous.get(f"/api/v2/o/{alice.org_id}", HTTP_AUTHORIZATION=header))


def test_it_refuses_another_scheme(anonymous, alice):
    response = anonymous.get(f"/api/v2/o/{alice.org_id}", HTTP_AUTHORIZATION=f"Basic {alice.key}")
    _assert_unauthenticated(response)


def test_it_refuses_the_right_prefix_with_the_wrong_secret(anonymous, alice):
    prefix = alice.key.rsplit("_", 1)[0]
    forged = f"{prefix}_{'A' * 43}"
    _assert_unauthenticated(_get(anonymous, f"/api/v2/o/{alice.org_id}", forged))


@pytest.mark.parametrize(
    "garbage", ["pb_", "pb_short_x", "not-a-key", "pb_" + "a" * 500, "pb_zzzzzzzzzzzz_\u00e9"]
)
def test_it_refuses_malformed_keys(anonymous, alice, garbage):
    _assert_unauthenticated(_get(anonymous, f"/api/v2/o/{alice.org_id}", garbage))


def test_it_refuses_a_revoked_key(anonymous, alice):
    ApiKey.objects.filter(organisation=alice.organisation).update(revoked_at=timezone.now())
    response = _get(anonymous, f"/api/v2/o/{alice.org_id}", alice.key)
    _assert_unauthenticated(response)
    assert "revoked" in response.json()["message"]


def test_it_refuses_an_expired_key(anonymous, alice):
    ApiKey.objects.filter(organisation=alice.organisation).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = _get(anonymous, f"/api/v2/o/{alice.org_id}", alice.key)
    _assert_unauthenticated(response)
    assert "expired" in response.json()["message"]


def test_it_accepts_a_key_that_expires_later(anonymous, alice):
    ApiKey.objects.filter(organisation=alice.organisation).update(
        expires_at=timezone.now() + timedelta(hours=1)
    )
    assert _get(anonymous, f"/api/v2/o/{alice.org_id}", alice.key).status_code == 200


@pytest.mark.parametrize("param", ["api_key", "access_token", "token", "key", "whatever"])
def test_it_refuses_a_key_in_the_query_string(anonymous, alice, param):
    response = anonymous.get(f"/api/v2/o/{alice.org_id}?{param}={alice.key}")
    _assert_unauthenticated(response)
    assert "header" in response.json()["message"]
    # Even alongside a valid header: a key in a URL is a leaked key.
    response = alice.client.get(f"/api/v2/o/{alice.org_id}?{param}={alice.key}")
    assert response.status_code == 401


def test_it_records_when_a_key_was_last_used_at_most_once_a_minute(
    alice, django_assert_max_num_queries
):
    api_key = ApiKey.objects.get(organisation=alice.organisation)
    assert api_key.last_used_at is None
    alice.client.get(f"/api/v2/o/{alice.org_id}")
    api_key.refresh_from_db()
    first = api_key.last_used_at
    assert first is not None
    with django_assert_max_num_queries(1):  # the key lookup only: no write on the hot path
        alice.client.get(f"/api/v2/o/{alice.org_id}")
    api_key.refresh_from_db()
    assert api_key.last_used_at == first


def test_last_used_is_still_recorded_once_the_minute_has_passed(alice):
    api_key = ApiKey.objects.get(organisation=alice.organisation)
    url = f"/api/v2/o/{alice.org_id}"
    alice.client.get(url)
    # Just inside the minute: no write.
    recent = timezone.now() - timedelta(seconds=50)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=recent)
    alice.client.get(url)
    api_key.refresh_from_db()
    assert api_key.last_used_at == recent
    # Past it: the next request records itself.
    stale = timezone.now() - timedelta(seconds=61)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=stale)
    before = timezone.now()
    alice.client.get(url)
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    assert api_key.last_used_at >= before


def test_it_stores_only_a_prefix_and_a_hash(alice):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM organisations_apikey")
        rows = cursor.fetchall()
    assert rows
    secret_part = alice.key.split("_", 2)[2]  # pb_<prefix>_<secret>; the secret may hold "_"
    assert alice.key not in repr(rows)
    assert secret_part not in repr(rows)


def test_keys_are_unique_and_unguessable(alice):
    keys = {api_key_create(organisation=alice.organisation).key for _ in range(20)}
    assert len(keys) == 20
    assert all(len(key) > 50 for key in keys)


def test_a_non_staff_session_user_cannot_use_the_api(client, alice, django_user_model):
    user = django_user_model.objects.create_user(username="eve", password="eve-password-1")
    client.force_login(user)
    assert client.get(f"/api/v2/o/{alice.org_id}").status_code in (401, 403)


def test_a_staff_operator_with_the_permission_can_use_the_api(client, alice, django_user_model):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user(
        username="op", password="op-password-1", is_staff=True
    )
    staff.user_permissions.add(Permission.objects.get(codename="view_organisation"))
    client.force_login(staff)
    response = client.get(f"/api/v2/o/{alice.org_id}", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["id"] == alice.org_id


def test_create_organisation_and_create_api_key_commands(db, anonymous):
    out = StringIO()
    call_command("create_organisation", "Bravo GmbH", stdout=out)
    org_id = out.getvalue().strip()
    assert Organisation.objects.get(pk=org_id).name == "Bravo GmbH"

    out = StringIO()
    call_command("create_api_key", "--organisation", org_id, "--name", "ci", stdout=out)
    key = out.getvalue().strip()
    assert key.startswith("pb_")
    assert _get(anonymous, f"/api/v2/o/{org_id}", key).status_code == 200
    assert ApiKey.objects.get(organisation_id=org_id).name == "ci"


@pytest.mark.parametrize("bad", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_create_api_key_refuses_an_unknown_organisation(db, bad):
    with pytest.raises(CommandError, match="No organisation"):
        call_command("create_api_key", "--organisation", bad, stdout=StringIO())


def test_create_api_key_with_expiry(db):
    org = Organisation.objects.create(name="Expiring")
    call_command(
        "create_api_key", "--organisation", str(org.pk), "--expires-in-days", "7", stdout=StringIO()
    )
    expires_at = ApiKey.objects.get(organisation=org).expires_at
    assert expires_at is not None
    assert expires_at > timezone.now() + timedelta(days=6)
