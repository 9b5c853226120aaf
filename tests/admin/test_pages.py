from __future__ import annotations

from typing import Any

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.admin.conftest import World, more_rows

CHANGELISTS = [
    "organisations_organisation",
    "organisations_apikey",
    "connectors_connector",
    "credentials_credential",
    "connections_connection",
    "connections_authorisationrequest",
]


def page_urls(world: World) -> list[str]:
    urls = [reverse(f"admin:{name}_changelist") for name in CHANGELISTS]
    urls += [reverse(f"admin:{name}_add") for name in CHANGELISTS[:-1]]
    objects: list[tuple[str, Any]] = [
        ("organisations_organisation", world.organisation),
        ("organisations_apikey", world.api_key),
        ("connectors_connector", world.connector),
        ("connections_connection", world.connection),
        ("connections_authorisationrequest", world.authorisation_request),
        *(("credentials_credential", c) for c in world.credentials.values()),
    ]
    for name, obj in objects:
        urls += [
            reverse(f"admin:{name}_change", args=[obj.pk]),
            reverse(f"admin:{name}_history", args=[obj.pk]),
            reverse(f"admin:{name}_delete", args=[obj.pk]),
        ]
    # Searches and filters render the same rows through other paths.
    urls += [
        reverse("admin:credentials_credential_changelist") + "?q=alice",
        reverse("admin:credentials_credential_changelist") + "?type__exact=oauth2-token",
        reverse("admin:organisations_apikey_changelist") + "?status=active",
        reverse("admin:connections_authorisationrequest_changelist") + "?state=pending",
    ]
    return urls


def test_it_renders_every_page_without_a_secret(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    pages = []
    for url in page_urls(world):
        # Deleting a credential in use leads back to its page, which must be clean too.
        response = admin_client.get(url, follow=True)
        assert response.status_code == 200, url
        pages.append(response.content.decode())
    assert_no_secrets(*world.secrets, texts=pages)


def test_it_shows_non_secret_credential_data(admin_client: Client, world: World) -> None:
    client = world.credentials["oauth2-client"]
    html = admin_client.get(
        reverse("admin:credentials_credential_change", args=[client.pk])
    ).content.decode()
    assert "alice-client" in html
    assert "https://provider.example/token" in html
    assert 'type="password"' in html


def test_it_keeps_outsiders_out(client: Client, world: World) -> None:
    for name in CHANGELISTS:
        response = client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("name", CHANGELISTS)
def test_changelists_cost_a_fixed_number_of_queries(
    admin_client: Client, world: World, name: str
) -> None:
    url = reverse(f"admin:{name}_changelist")
    admin_client.get(url)  # warm caches (content types, session)

    def count() -> int:
        with CaptureQueriesContext(db_connection) as ctx:
            assert admin_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    more_rows(world.organisation, 3)
    assert count() == before
