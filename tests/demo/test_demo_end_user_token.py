"""``manage.py demo_end_user_token``: the walkthrough's company-signed token for the demo hub
(README walkthrough step 8), signed with the demo company's key that ``manage.py demo``
registered on the hub."""

from __future__ import annotations

import stat
from io import StringIO
from pathlib import Path

import jwt
import pytest
from django.core.management import CommandError, call_command

from demo.signing import KID, signing_key_file
from embed.models import EndUser, Hub
from tests.embed.conftest import embed_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_mode(settings):
    settings.PATCHBAY_DEMO = True
    return settings


def sign(*args: str) -> str:
    out = StringIO()
    call_command("demo_end_user_token", *args, stdout=out)
    return out.getvalue().strip()


def test_the_printed_token_is_traded_once_for_a_session_of_the_demo_user(demo_mode):
    call_command("demo", stdout=StringIO())
    hub = Hub.objects.get()
    assert [k["kid"] for k in hub.signing_keys["keys"]] == [KID]
    token = sign("--name", "Dana Demo")
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": KID, "typ": "JWT"}

    response = embed_client(token).post(f"/api/v2/embed/{hub.pk}/session")
    assert response.status_code == 201, response.json()
    assert response.json()["token"].startswith("pbs_")
    assert EndUser.objects.get().external_id == "demo-user-1"
    assert EndUser.objects.get().display_name == "Dana Demo"
    again = embed_client(token).post(f"/api/v2/embed/{hub.pk}/session")
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_token"


def test_the_demo_signing_key_is_kept_owner_only_and_reused(demo_mode):
    call_command("demo", stdout=StringIO())
    path = Path(signing_key_file())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = Hub.objects.get().signing_keys
    call_command("demo", stdout=StringIO())
    assert Hub.objects.get().signing_keys == first  # the same key: earlier tokens still verify
    path.unlink()
    call_command("demo", stdout=StringIO())
    assert Hub.objects.get().signing_keys != first  # a lost key: a new one, registered


def test_it_refuses_without_the_demo_or_beyond_fifteen_minutes(demo_mode):
    with pytest.raises(CommandError, match="not loaded"):
        sign()
    call_command("demo", stdout=StringIO())
    with pytest.raises(CommandError, match="1 to 15"):
        sign("--minutes", "16")
    demo_mode.PATCHBAY_DEMO = False
    with pytest.raises(CommandError, match="demo mode only"):
        sign()
