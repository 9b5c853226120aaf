"""A proxied request costs at most three queries, however many credentials it applies."""

from __future__ import annotations

import pytest

from tests.connections import factories as f
from tests.proxy.conftest import config, connector_to, credential, proxy_url


def _connection(alice, base_url: str, count: int):
    connector = connector_to(alice, base_url)
    links = [
        (
            config(connector, "api-key", f"key{i}", name=f"X-Key-{i}", **{"in": "header"}),
            credential(alice, "string", value=f"value-{i}"),
        )
        for i in range(count - 1)
    ]
    oauth2 = f.oauth2_config(connector, config_id="oauth2")
    links.append((oauth2, f.token_credential(alice.organisation)))  # no expiry: never due
    return f.connection(alice.organisation, connector, links=links)


@pytest.mark.parametrize("count", [1, 3, 10])
def test_a_proxied_request_costs_at_most_three_queries(
    alice, upstream, django_assert_max_num_queries, count
):
    connection = _connection(alice, upstream.url, count)
    alice.client.get(proxy_url(alice, connection, "warm"))  # the key's last-used time
    with django_assert_max_num_queries(3):
        response = alice.client.get(proxy_url(alice, connection, "a"))
    assert response.status_code == 200
    sent = upstream.last
    assert sent.header("Authorization").startswith("Bearer at-")
    assert all(sent.header(f"X-Key-{i}") == f"value-{i}" for i in range(count - 1))
