from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import reverse

from organisations.keys import api_key_matches
from organisations.models import ApiKey
from tests.admin.conftest import World

KEY_RE = re.compile(r"pb_[0-9a-f]{12}_[A-Za-z0-9_-]+")


def test_adding_a_key_shows_it_once(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    response = admin_client.post(
        reverse("admin:organisations_apikey_add"),
        {"organisation": str(world.organisation.pk), "name": "ci key", "expires_at": ""},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain == []  # the key is on this very page, no message carries it
    assert "no-store" in response["Cache-Control"]
    shown = KEY_RE.findall(response.content.decode())
    assert len(shown) == 1
    key = shown[0]
    assert all(key not in morsel.value for morsel in response.cookies.values())
    api_key = ApiKey.objects.get(name="ci key")
    assert api_key.organisation == world.organisation
    assert api_key_matches(api_key, key)
    # Only the prefix and a hash are stored.
    assert key.split("_")[1] == api_key.prefix
    assert key not in api_key.key_hash

    later = [
        admin_client.get(reverse("admin:organisations_apikey_changelist")).content.decode(),
        admin_client.get(
            reverse("admin:organisations_apikey_change", args=[api_key.pk])
        ).content.decode(),
    ]
    assert_no_secrets(key, api_key.key_hash, texts=later)
    assert f"pb_{api_key.prefix}_" in later[0]


def test_it_refuses_an_expiry_in_the_past(admin_client: Client, world: World) -> None:
    response = admin_client.post(
        reverse("admin:organisations_apikey_add"),
        {
            "organisation": str(world.organisation.pk),
            "name": "old",
            "expires_at_0": "2000-01-01",
            "expires_at_1": "00:00:00",
        },
    )
    assert response.status_code == 200
    assert not ApiKey.objects.filter(name="old").exists()


def test_the_revoke_action_revokes_the_selected_keys(admin_client: Client, world: World) -> None:
    response = admin_client.post(
        reverse("admin:organisations_apikey_changelist"),
        {"action": "revoke_keys", "_selected_action": [str(world.api_key.pk)]},
    )
    assert response.status_code == 302
    world.api_key.refresh_from_db()
    assert world.api_key.revoked_at is not None
    assert not world.api_key.is_usable()
