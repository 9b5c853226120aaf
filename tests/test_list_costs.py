"""What a list page, a connection and its access token cost: the same number of queries
whatever the page's size, its depth, the organisation's size or the connection's number
of credentials; and no decryption for what is not shown (a list, a connection), exactly
one for an access token. (Time is measured in ``bench/lists.py``, never here.)"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from connections.models import Connection, ConnectionCredential
from connectors.models import AuthSchemeConfig, Connector
from core.crypto import KeyRing
from credentials.models import Credential
from embed.models import EndUser, Hub
from tests.connections import factories as f
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

PAGE = 5
_serial = itertools.count()  # names stay unique when a seeder runs twice


@pytest.fixture
def decryptions(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every decryption's associated data (the row it is bound to), as it happens."""
    seen: list[bytes] = []
    real = KeyRing.decrypt

    def counting(self: KeyRing, envelope: str, associated_data: bytes) -> bytes:
        seen.append(associated_data)
        return real(self, envelope, associated_data)

    monkeypatch.setattr(KeyRing, "decrypt", counting)
    return seen


def _queries(call: Callable[[], Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(db_connection) as captured:
        response = call()
    assert response.status_code == 200, response.content
    return len(captured), response.json()


def _pages(alice: Any, path: str) -> list[int]:
    """Queries of page 1, and of the last page reached through the cursors."""
    alice.client.get(alice.url(path))  # the key's last-used write happens once a minute
    counts = []
    after = None
    while True:
        query = {"first": PAGE, **({"after": after} if after else {})}
        count, body = _queries(partial(alice.client.get, alice.url(path), query))
        counts.append(count)
        if not body["pageInfo"]["hasNextPage"]:
            return [counts[0], counts[-1]]
        after = body["pageInfo"]["endCursor"]


def _connector_with_configs(organisation: Any, name: str) -> tuple[Connector, AuthSchemeConfig]:
    connector, config = f.oauth2_connector(organisation, name=name)
    f.config_of_type(connector, "api-key", "key")
    return connector, config


Seeder = Callable[[Any, int], str]


def seed_connections(alice: Any, count: int) -> str:
    connector, config = _connector_with_configs(alice.organisation, f"Acme {next(_serial)}")
    key = AuthSchemeConfig.objects.get(connector=connector, config_id="key")
    for i in range(count):
        secret = Credential.objects.create(
            organisation=alice.organisation, type="string", data={"value": f"s{i}"}
        )
        links = [(config, f.token_credential(alice.organisation)), (key, secret)]
        f.connection(alice.organisation, connector, name=f"c{i}", links=links)
    return "connections"


def seed_connectors(alice: Any, count: int) -> str:
    for _i in range(count):
        _connector_with_configs(alice.organisation, f"Connector {next(_serial)}")
    return "connectors"


def seed_credentials(alice: Any, count: int) -> str:
    for i in range(count):
        f.token_credential(alice.organisation)
        Credential.objects.create(organisation=alice.organisation, type="string", data={"v": i})
    return "credentials"


def seed_hubs(alice: Any, count: int) -> str:
    connector, _ = _connector_with_configs(alice.organisation, f"Acme {next(_serial)}")
    for i in range(count):
        Hub.objects.create(organisation=alice.organisation, name=f"h{i}").connectors.add(connector)
    return "hubs"


def seed_end_users(alice: Any, count: int) -> str:
    hub = Hub.objects.filter(organisation=alice.organisation, name="Hub").first()
    if hub is None:
        hub = Hub.objects.create(organisation=alice.organisation, name="Hub")
    for _ in range(count):
        external_id = f"u{next(_serial)}"
        EndUser.objects.create(organisation=alice.organisation, hub=hub, external_id=external_id)
    return f"hubs/{hub.pk}/users"


def seed_webhooks(alice: Any, count: int) -> str:
    for i in range(count):
        WebhookEndpoint.objects.create(
            organisation=alice.organisation, url=f"https://h{i}.example/", secret="whsec_x"
        )
    return "webhooks"


def seed_deliveries(alice: Any, count: int) -> str:
    endpoint = WebhookEndpoint.objects.filter(organisation=alice.organisation).first()
    if endpoint is None:
        endpoint = WebhookEndpoint.objects.create(
            organisation=alice.organisation, url="https://h.example/", secret="whsec_x"
        )
    for i in range(count):
        event = Event.objects.create(
            organisation=alice.organisation, type="connection.created", data={"i": i}
        )
        WebhookDelivery.objects.create(
            organisation=alice.organisation, endpoint=endpoint, event=event
        )
    return f"webhooks/{endpoint.pk}/deliveries"


LISTS: dict[str, tuple[Seeder, int]] = {
    # the list, and the most queries a page of it may cost
    "connections": (seed_connections, 5),
    "connectors": (seed_connectors, 4),
    "credentials": (seed_credentials, 3),
    "hubs": (seed_hubs, 4),
    "end users": (seed_end_users, 4),
    "webhooks": (seed_webhooks, 3),
    "deliveries": (seed_deliveries, 4),
}


@pytest.mark.parametrize("name", list(LISTS))
def test_a_page_costs_the_same_queries_whatever_its_size_depth_and_the_organisation(
    alice, charlie, name, django_assert_max_num_queries
):
    seed, most = LISTS[name]
    seed(charlie, 2)  # another organisation's rows change nothing either
    path = seed(alice, 1)
    (one,) = set(_pages(alice, path))
    seed(alice, 3 * PAGE)  # now four pages (3 * PAGE + 1 or 2 rows)
    first, deep = _pages(alice, path)
    assert one == first == deep, (one, first, deep)
    with django_assert_max_num_queries(most):
        alice.client.get(alice.url(path), {"first": PAGE})


def test_listing_connections_and_credentials_decrypts_nothing(alice, decryptions):
    seed_connections(alice, 3)
    for path in ("connections", "credentials"):
        response = alice.client.get(alice.url(path))
        assert response.status_code == 200
        # the non-secret fields are shown all the same, from their plaintext copy
        assert '"scopes":["read"]' in response.content.decode().replace(" ", "")
    assert decryptions == []


def _connection_with(alice: Any, count: int) -> Connection:
    connector, config = _connector_with_configs(alice.organisation, f"With {count}")
    key = AuthSchemeConfig.objects.get(connector=connector, config_id="key")
    links: list[tuple[AuthSchemeConfig, Credential]] = [
        (config, f.token_credential(alice.organisation))
    ]
    for i in range(count - 1):
        other = Credential.objects.create(
            organisation=alice.organisation, type="string", data={"value": f"s{i}"}
        )
        links.append((key, other))
    return f.connection(alice.organisation, connector, name=f"with {count}", links=links)


def test_access_token_and_get_connection_cost_the_same_with_1_and_20_credentials(
    alice, decryptions, django_assert_max_num_queries
):
    one, twenty = _connection_with(alice, 1), _connection_with(alice, 20)
    assert ConnectionCredential.objects.filter(connection=twenty).count() == 20
    alice.client.get(alice.url("connections"))  # the key's last-used write, once a minute
    costs: dict[str, list[int]] = {"access-token": [], "": []}
    for connection in (one, twenty):
        for suffix in costs:
            del decryptions[:]
            url = alice.url(f"connections/{connection.pk}/{suffix}".rstrip("/"))
            count, body = _queries(partial(alice.client.get, url))
            costs[suffix].append(count)
            token = ConnectionCredential.objects.get(connection=connection, position=0)
            if suffix:  # one decryption: the token's own row
                assert body["accessToken"].startswith("at-")
                assert len(decryptions) == 1
                assert decryptions[0].endswith(str(token.credential_id).encode())
            else:  # the connection shows no secret: nothing decrypted
                assert (
                    len(body["credentials"])
                    == ConnectionCredential.objects.filter(connection=connection).count()
                )
                assert decryptions == []
    assert costs["access-token"][0] == costs["access-token"][1]
    assert costs[""][0] == costs[""][1]
    with django_assert_max_num_queries(2):
        alice.client.get(alice.url(f"connections/{twenty.pk}/access-token"))
    with django_assert_max_num_queries(2):
        alice.client.get(alice.url(f"connections/{twenty.pk}"))
