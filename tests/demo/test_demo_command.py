from __future__ import annotations

import re
import secrets
import shlex
import socket
import stat
import subprocess
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.conf import LazySettings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from django.utils import timezone
from oauth2_provider.models import get_application_model

from connectors.models import AuthSchemeConfig, Connector
from credentials.models import Credential
from embed.models import Hub
from organisations.keys import api_key_create, api_key_matches, split_key
from organisations.models import ApiKey, Organisation
from tests.conftest import Provider, callback_query

KEY_RE = re.compile(r"^  KEY +(pb_\S+)", re.MULTILINE)


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def printed_key(output: str) -> str:
    match = KEY_RE.search(output)
    assert match, output
    return match.group(1)


def usable_demo_keys() -> list[ApiKey]:
    return [k for k in ApiKey.objects.filter(name="demo (manage.py demo)") if k.is_usable()]


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
def test_every_run_prints_the_same_one_key_of_the_demo_organisation(
    settings: LazySettings,
) -> None:
    first = run_demo()
    second = run_demo()
    key = printed_key(first)
    assert printed_key(second) == key
    assert "new, kept in" in first
    assert "new, kept in" not in second
    organisation = Organisation.objects.get(name="Demo Org")
    (api_key,) = usable_demo_keys()
    assert api_key.organisation == organisation
    assert api_key_matches(api_key, key)
    # Kept where the next start (and the demo host page) finds it, for its owner only.
    key_file = Path(settings.PATCHBAY_DEMO_KEY_FILE)
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.django_db
def test_it_makes_a_new_key_when_the_kept_one_no_longer_works(settings: LazySettings) -> None:
    old = printed_key(run_demo())
    ApiKey.objects.filter(prefix=split_key(old)).update(revoked_at=timezone.now())
    new = printed_key(run_demo())
    assert new != old
    assert Path(settings.PATCHBAY_DEMO_KEY_FILE).read_text().strip() == new
    Path(settings.PATCHBAY_DEMO_KEY_FILE).unlink()  # the file is gone: the key's text too
    newer = printed_key(run_demo())
    assert newer != new
    (api_key,) = usable_demo_keys()  # the ones nobody can use any more are revoked
    assert api_key_matches(api_key, newer)


@pytest.mark.django_db
def test_it_retires_the_host_page_keys_of_earlier_versions() -> None:
    organisation = Organisation.objects.create(name="Demo Org")
    api_key_create(organisation=organisation, name="demo host (manage.py demo_host)")
    api_key_create(organisation=organisation, name="demo (manage.py demo)")
    key = printed_key(run_demo())
    assert [k.prefix for k in ApiKey.objects.all() if k.is_usable()] == [split_key(key)]


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
    secret = Credential.objects.get().data["clientSecret"]
    run_demo()  # a second run keeps the secret both sides have
    application = get_application_model().objects.get()
    credential = Credential.objects.get()
    assert credential.data["clientSecret"] == secret
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
def test_it_issues_a_new_client_secret_when_the_stored_one_no_longer_matches() -> None:
    run_demo()
    application = get_application_model().objects.get()
    application.client_secret = "something-else"
    application.save()
    run_demo()
    credential = Credential.objects.get()
    application.refresh_from_db()
    assert check_password(credential.data["clientSecret"], application.client_secret)


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


# --- What the README walkthrough uses ------------------------------------------------------


def readme_walkthrough() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    return readme.split("\n## Walkthrough", 1)[1].split("\n## ", 1)[0]


def export_names(line: str) -> list[str]:
    words = shlex.split(line.strip())
    assert words[0] == "export", line
    return [word.partition("=")[0] for word in words[1:]]


def printed_export_line(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.strip().startswith("export ")]
    return line.strip()


@pytest.mark.django_db
def test_it_prints_every_value_the_readme_walkthrough_exports_labelled_by_its_name() -> None:
    (readme_export,) = [
        line for line in readme_walkthrough().splitlines() if line.startswith("export ")
    ]
    names = export_names(readme_export)
    assert names == ["PB", "KEY", "ORG", "CONNECTOR", "CLIENT", "CLIENT_ID", "HUB"]
    # The walkthrough uses no variable its export line does not set.
    used = set(re.findall(r"\$([A-Z_]+)", readme_walkthrough()))
    assert used <= set(names), used - set(names)

    output = run_demo()
    labelled = {
        words[0]: words[1]
        for words in (line.split() for line in output.splitlines() if line.startswith("  "))
        if len(words) > 1
    }
    export = printed_export_line(output)
    assert export_names(export) == names
    shell = subprocess.run(
        ["sh", "-c", export + '; printf "%s\\n" ' + " ".join(f'"${n}"' for n in names)],
        capture_output=True,
        text=True,
        check=True,
    )
    exported = dict(zip(names, shell.stdout.splitlines(), strict=True))
    assert {name: labelled[name] for name in names} == exported

    organisation = Organisation.objects.get(name="Demo Org")
    credential = Credential.objects.get(organisation=organisation)
    assert exported == {
        "PB": "http://127.0.0.1:8000",
        "KEY": printed_key(output),
        "ORG": str(organisation.pk),
        "CONNECTOR": str(Connector.objects.get(name="Demo Provider").pk),
        "CLIENT": str(credential.pk),
        "CLIENT_ID": credential.data["clientId"],
        "HUB": str(Hub.objects.get(organisation=organisation).pk),
    }
    assert api_key_matches(ApiKey.objects.get(prefix=split_key(exported["KEY"])), exported["KEY"])


# --- The demo host page's command ---------------------------------------------------------


@pytest.mark.django_db
def test_demo_host_answers_a_busy_port_with_one_line_and_leaves_the_key_alone() -> None:
    key = printed_key(run_demo())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError) as refused:
            call_command("demo_host", "--port", str(port), stdout=StringIO(), stderr=StringIO())
    assert str(refused.value) == (
        f"Port {port} on 127.0.0.1 is already in use: "
        "choose another with --port (make run DEMO_HOST_PORT=…)."
    )
    (api_key,) = usable_demo_keys()
    assert api_key_matches(api_key, key)


@pytest.mark.django_db
def test_demo_host_needs_the_demo_key(settings: LazySettings) -> None:
    run_demo()
    Path(settings.PATCHBAY_DEMO_KEY_FILE).unlink()
    with pytest.raises(CommandError, match="No usable demo API key"):
        call_command("demo_host", "--port", "0", stdout=StringIO(), stderr=StringIO())
