from __future__ import annotations

import re
import secrets
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.conf import LazySettings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from oauth2_provider.models import get_application_model

from connectors.models import AuthSchemeConfig, Connector
from credentials.models import Credential
from organisations.keys import api_key_matches, split_key
from organisations.models import ApiKey, Organisation
from tests.conftest import Provider, callback_query

KEY_RE = re.compile(r"API key \(new, shown once\): (pb_\S+)")


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def printed_key(output: str) -> str:
    match = KEY_RE.search(output)
    assert match, output
    return match.group(1)


def counts() -> dict[str, int]:
    return {
        "organisations": Organisation.objects.count(),
        "connectors": Connector.objects.count(),
        "configs": AuthSchemeConfig.objects.count(),
        "credentials": Credential.objects.count(),
        "applications": get_application_model().objects.count(),
        "users": get_user_model().objects.count(),
    }


@pytest.mark.django_db
def test_it_loads_the_demo_twice_without_duplicates() -> None:
    run_demo()
    first = counts()
    run_demo()
    assert counts() == first
    assert first == {
        "organisations": 1,
        "connectors": 2,  # the demo provider's, and an api-key one for the widget's form
        "configs": 2,
        "credentials": 1,
        "applications": 1,
        "users": 1,  # DEBUG is off in tests: no operator account, only the provider's user
    }


@pytest.mark.django_db
def test_every_run_prints_a_new_key_of_the_demo_organisation() -> None:
    keys = [printed_key(run_demo()) for _ in range(2)]
    assert keys[0] != keys[1]
    organisation = Organisation.objects.get(name="Demo Org")
    for key in keys:
        api_key = ApiKey.objects.get(prefix=split_key(key))
        assert api_key.organisation == organisation
        assert api_key_matches(api_key, key)
        assert api_key.is_usable()


@pytest.mark.django_db
def test_it_prints_the_organisation_id_and_a_ready_curl() -> None:
    output = run_demo()
    organisation = Organisation.objects.get(name="Demo Org")
    connector = Connector.objects.get(organisation=organisation, name="Demo Provider")
    credential = Credential.objects.get(organisation=organisation)
    assert str(organisation.pk) in output
    assert f"/api/v2/o/{organisation.pk}/connectors/{connector.pk}/oauth2/initialise" in output
    assert f'"id": "{credential.pk}"' in output
    assert "demo / demo-password" in output
    # The OAuth client secret is stored, never printed.
    assert credential.data["clientSecret"] not in output


@pytest.mark.django_db
def test_the_stored_client_secret_matches_the_provider_application() -> None:
    run_demo()
    run_demo()  # a second run issues a new secret to both sides
    application = get_application_model().objects.get()
    credential = Credential.objects.get()
    assert credential.data["clientId"] == application.client_id
    assert check_password(credential.data["clientSecret"], application.client_secret)
    config = AuthSchemeConfig.objects.get(type="oauth2")
    grant = config.settings["grant"]["authorizationCode"]
    assert grant == {
        "credentialId": str(credential.pk),
        "organisationId": str(credential.organisation_id),
        "clientId": application.client_id,
    }


@pytest.mark.django_db
def test_it_refuses_without_demo_mode(settings: LazySettings) -> None:
    settings.PATCHBAY_DEMO = False
    with pytest.raises(CommandError, match="PATCHBAY_DEMO"):
        run_demo()
    assert not Organisation.objects.exists()


@pytest.mark.django_db
def test_it_creates_the_operator_only_in_debug(settings: LazySettings) -> None:
    User = get_user_model()
    run_demo()
    assert not User.objects.filter(username="admin").exists()

    settings.DEBUG = True
    output = run_demo()
    admin = User.objects.get(username="admin")
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.check_password("admin-password")
    assert "admin / admin-password" in output


@pytest.mark.django_db
def test_it_leaves_existing_operators_alone(settings: LazySettings) -> None:
    settings.DEBUG = True
    User = get_user_model()
    User.objects.create_superuser(username="root", password="long-and-private-1")
    output = run_demo()
    assert not User.objects.filter(username="admin").exists()
    assert "admin-password" not in output


@pytest.mark.django_db
def test_it_never_gives_a_staff_account_the_demo_password() -> None:
    User = get_user_model()
    User.objects.create_user(username="demo", password="private-1", is_staff=True)
    with pytest.raises(CommandError, match="staff"):
        run_demo()
    assert User.objects.get(username="demo").check_password("private-1")


@pytest.mark.django_db(transaction=True)
def test_the_demo_client_completes_an_authorisation_at_the_demo_provider(
    live_server: Any, settings: LazySettings
) -> None:
    """The loaded connector, credential and provider fit together: sign in as demo,
    consent, and exchange the code with the stored client secret."""
    settings.PATCHBAY_PUBLIC_URL = live_server.url
    run_demo()
    config = AuthSchemeConfig.objects.get(type="oauth2")
    credential = Credential.objects.get()
    application = get_application_model().objects.get()
    provider = Provider(
        base_url=live_server.url,
        client_id=credential.data["clientId"],
        client_secret=credential.data["clientSecret"],
        username="demo",
        password="demo-password",
        application=application,
    )
    redirect_uri = f"{live_server.url}/connections/oauth2/callback"
    state = secrets.token_urlsafe(16)
    authorize = (
        config.settings["authorizeUrl"]
        + "?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": provider.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(config.settings["defaultScopes"]),
                "state": state,
            }
        )
    )
    query = callback_query(provider.consent(authorize))
    assert query["state"] == [state]
    token = requests.post(
        config.settings["tokenUrl"],
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": redirect_uri,
        },
        auth=(provider.client_id, provider.client_secret),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    me = provider.me(token.json()["access_token"])
    assert me.json()["username"] == "demo"
