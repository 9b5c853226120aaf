"""The proxy's first promises (SPEC §9.1): the target, the credential, the answer as it is."""

from __future__ import annotations

from tests.proxy.conftest import Reply, api_key_connection, proxy_url


def test_it_sends_the_api_key_and_passes_the_answer_back(alice, upstream, assert_no_secrets):
    connection, key = api_key_connection(alice, upstream.url + "/v1")
    upstream.reply(
        lambda seen: Reply(
            200 if seen.header("X-Api-Key") == key else 401,
            headers=[("Content-Type", "application/json"), ("X-Upstream", "yes")],
            body=b'{"items": []}',
        )
    )
    response = alice.client.get(proxy_url(alice, connection, "items/7?expand=a%20b&x=1"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b'{"items": []}'
    assert response["Patchbay-Proxy"] == "upstream"
    assert response["Content-Type"] == "application/json"
    assert response["X-Upstream"] == "yes"
    assert upstream.last.path == "/v1/items/7?expand=a%20b&x=1"
    assert upstream.last.header("Authorization") is None
    assert_no_secrets(key, texts=[str(response.headers)])


def test_an_outsider_gets_404_and_the_upstream_nothing(alice, charlie, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    response = charlie.client.get(proxy_url(charlie, connection, "items"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "Patchbay-Proxy" not in response
    response = charlie.client.get(alice.url(f"connections/{connection.pk}/proxy/items"))
    assert response.status_code == 404
    assert upstream.seen == []


def test_the_openapi_document_describes_the_proxy(client, db):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    path = "/api/v2/o/{organisation_id}/connections/{connection_id}/proxy/{path}"
    operations = schema["paths"][path]
    assert {"get", "post", "put", "patch", "delete"} <= set(operations)
    get = operations["get"]
    catch_all = next(p for p in get["parameters"] if p["name"] == "path")
    assert catch_all["in"] == "path"
    assert "Catch-all" in catch_all["description"]
    assert any(p["name"] == "Patchbay-Retries" for p in get["parameters"])
    assert "*/*" in get["responses"]["200"]["content"]
    assert {"400", "404", "409", "413", "502", "504"} <= set(get["responses"])
    assert "*/*" in operations["post"]["requestBody"]["content"]
