"""Each auth scheme against an upstream that checks the credential with its own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.connections import factories as f
from tests.proxy.conftest import (
    Reply,
    Seen,
    api_key_connection,
    config,
    connector_to,
    credential,
    proxy_url,
)


def _query(seen: Seen) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(seen.path).query, keep_blank_values=True))


def _cookies(seen: Seen) -> dict[str, str]:
    jar = SimpleCookie()
    jar.load(seen.header("Cookie") or "")
    return {name: morsel.value for name, morsel in jar.items()}


FOUND_IN = {
    "header": lambda seen, name: seen.header(name),
    "query": lambda seen, name: _query(seen).get(name),
    "cookie": lambda seen, name: _cookies(seen).get(name),
}


@pytest.mark.parametrize("where", ["header", "query", "cookie"])
def test_the_upstream_gets_the_api_key_where_the_config_says(
    alice, upstream, assert_no_secrets, where
):
    connection, key = api_key_connection(alice, upstream.url, where=where, name="api_key")
    upstream.reply(
        lambda seen: Reply(200 if FOUND_IN[where](seen, "api_key") == key else 401, body=b"hi")
    )
    response = alice.client.get(
        proxy_url(alice, connection, "things?page=2"), HTTP_COOKIE="session=caller-cookie"
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hi"
    seen = upstream.last
    assert _query(seen)["page"] == "2"
    assert "caller-cookie" not in (seen.header("Cookie") or "")
    others = {"header", "query", "cookie"} - {where}
    assert all(FOUND_IN[other](seen, "api_key") is None for other in others)
    assert_no_secrets(key, texts=[str(response.headers)])


def test_a_callers_own_query_parameter_of_the_keys_name_is_dropped(alice, upstream):
    connection, key = api_key_connection(alice, upstream.url, where="query", name="apikey2")
    response = alice.client.get(proxy_url(alice, connection, "x?apikey2=mine&b=1"))
    assert response.status_code == 200
    assert parse_qsl(urlsplit(upstream.last.path).query) == [("b", "1"), ("apikey2", key)]


def test_the_upstream_gets_http_basic(alice, upstream, assert_no_secrets):
    password = "pw-" + secrets.token_urlsafe(16)
    connector = connector_to(alice, upstream.url + "/api/")
    link = (
        config(connector, "basic-auth", "basic"),
        credential(alice, "basic-auth", username="ann", password=password),
    )
    connection = f.connection(alice.organisation, connector, links=[link])

    def check(seen: Seen) -> Reply:
        scheme, _, encoded = (seen.header("Authorization") or "").partition(" ")
        user, _, secret = base64.b64decode(encoded).decode().partition(":")
        ok = scheme == "Basic" and (user, secret) == ("ann", password)
        return Reply(200 if ok else 401, body=b"welcome" if ok else b"no")

    upstream.reply(check)
    response = alice.client.get(
        proxy_url(alice, connection, "me"), HTTP_AUTHORIZATION=f"Bearer {alice.key}"
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"welcome"
    assert upstream.last.path == "/api/me"
    assert_no_secrets(password, alice.key, texts=[str(response.headers)])


def test_a_none_credential_sends_nothing(alice, upstream):
    connector = connector_to(alice, upstream.url)
    link = (config(connector, "none", "none"), credential(alice, "none"))
    connection = f.connection(alice.organisation, connector, links=[link])
    assert alice.client.get(proxy_url(alice, connection, "open")).status_code == 200
    assert upstream.last.header("Authorization") is None
    assert upstream.last.header("Cookie") is None


# --- HMAC: the verifier recomputes the canonical string from the raw request ----------

ALL_INPUTS = ["method", "url", "path", "query", "body", "timestamp"]


def _verify(
    seen: Seen,
    *,
    key: bytes,
    name: str,
    where: str,
    algorithm: str,
    encoding: str,
    inputs: list[str],
    base: str,
) -> bool:
    """An upstream's own check, from README's recipe: hmac + hashlib, nothing of Patchbay's."""
    split = urlsplit(seen.path)
    pairs = split.query.split("&") if split.query else []
    if where == "query":
        params = dict(parse_qsl(split.query))
        signature, stamp = params.get(name), params.get(f"{name}-Timestamp")
        pairs = [p for p in pairs if p.split("=", 1)[0] not in (name, f"{name}-Timestamp")]
    else:
        signature, stamp = seen.header(name), seen.header(f"{name}-Timestamp")
    if signature is None or ("timestamp" in inputs and stamp is None):
        return False
    if stamp is not None and abs(time.time() - int(stamp)) > 300:
        return False
    query = "&".join(pairs)
    values = {
        "method": seen.method.encode(),
        "url": (base + split.path + (f"?{query}" if query else "")).encode(),
        "path": split.path.encode(),
        "query": query.encode(),
        "body": seen.body,
        "timestamp": (stamp or "").encode(),
    }
    mac = hmac.new(key, b"\n".join(values[i] for i in inputs), getattr(hashlib, algorithm)).digest()
    expected = {
        "hex": mac.hex(),
        "base64": base64.b64encode(mac).decode(),
        "base64url": base64.urlsafe_b64encode(mac).decode(),
    }[encoding]
    return hmac.compare_digest(expected, signature)


@pytest.mark.parametrize("encoding", ["hex", "base64", "base64url"])
@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
def test_the_upstream_verifies_the_hmac_signature(
    alice, upstream, assert_no_secrets, algorithm, encoding
):
    key = "hk-" + secrets.token_urlsafe(24)
    where = "query" if encoding == "base64url" else "header"
    settings = {
        "name": "X-Sig",
        "in": where,
        "algorithm": algorithm,
        "encoding": encoding,
        "digestInputs": ALL_INPUTS,
    }
    connector = connector_to(alice, upstream.url + "/v2")
    link = (config(connector, "hmac", "hmac", **settings), credential(alice, "string", value=key))
    connection = f.connection(alice.organisation, connector, links=[link])
    upstream.reply(
        lambda seen: Reply(
            200
            if _verify(
                seen,
                key=key.encode(),
                name="X-Sig",
                where=where,
                algorithm=algorithm,
                encoding=encoding,
                inputs=ALL_INPUTS,
                base=upstream.url,
            )
            else 401
        )
    )
    response = alice.client.post(
        proxy_url(alice, connection, "orders/9?expand=lines&x=%2F"),
        b'{"amount": 12}',
        content_type="application/json",
    )
    assert response.status_code == 200, upstream.last
    assert upstream.last.body == b'{"amount": 12}'
    # a body changed on the way would not verify: the verifier is not a yes-man
    tampered = Seen(
        upstream.last.method, upstream.last.path, upstream.last.headers, b'{"amount": 13}'
    )
    assert not _verify(
        tampered,
        key=key.encode(),
        name="X-Sig",
        where=where,
        algorithm=algorithm,
        encoding=encoding,
        inputs=ALL_INPUTS,
        base=upstream.url,
    )
    assert_no_secrets(key, texts=[str(response.headers)])


def test_a_binary_hmac_key_signs_the_body_only_by_default(alice, upstream):
    raw = secrets.token_bytes(32)
    connector = connector_to(alice, upstream.url)
    link = (
        config(connector, "hmac", "hmac", name="Signature"),
        credential(alice, "binary", valueBase64=base64.b64encode(raw).decode()),
    )
    connection = f.connection(alice.organisation, connector, links=[link])
    response = alice.client.put(
        proxy_url(alice, connection, "doc"), b"payload", content_type="text/plain"
    )
    assert response.status_code == 200
    seen = upstream.last
    assert seen.header("Signature") == hmac.new(raw, b"payload", hashlib.sha256).hexdigest()
    assert seen.header("Signature-Timestamp") is None


def test_a_callers_own_signature_header_never_reaches_the_upstream(alice, upstream):
    connector = connector_to(alice, upstream.url)
    link = (
        config(connector, "hmac", "hmac", name="X-Sig"),
        credential(alice, "string", value="k" * 20),
    )
    connection = f.connection(alice.organisation, connector, links=[link])
    alice.client.get(proxy_url(alice, connection, "a"), HTTP_X_SIG="forged")
    assert [v for k, v in upstream.last.headers if k.lower() == "x-sig"] == [
        hmac.new(b"k" * 20, b"", hashlib.sha256).hexdigest()
    ]


def test_credentials_are_applied_in_the_connections_order(alice, upstream):
    connector = connector_to(alice, upstream.url)
    first = (
        config(connector, "api-key", "key", name="X-Key", **{"in": "header"}),
        credential(alice, "string", value="key-one"),
    )
    second = (
        config(connector, "hmac", "hmac", name="X-Sig", digestInputs=["method", "query"]),
        credential(alice, "string", value="hmac-key"),
    )
    connection = f.connection(alice.organisation, connector, links=[first, second])
    assert alice.client.get(proxy_url(alice, connection, "a?z=1")).status_code == 200
    seen = upstream.last
    assert seen.header("X-Key") == "key-one"
    assert seen.header("X-Sig") == hmac.new(b"hmac-key", b"GET\nz=1", hashlib.sha256).hexdigest()


def test_oauth1_which_the_proxy_cannot_apply_yet_answers_409_and_sends_nothing(alice, upstream):
    # (certificate: tests/proxy/test_proxy_certificate.py, mTLS to a TLS upstream)
    connector = connector_to(alice, upstream.url)
    link = (
        config(connector, "oauth1", "oauth1"),
        credential(alice, "oauth1-token", token="t", tokenSecret="s"),
    )
    connection = f.connection(alice.organisation, connector, links=[link])
    response = alice.client.get(proxy_url(alice, connection, "a"))
    assert response.status_code == 409
    assert response.json()["code"] == "scheme_not_supported"
    assert "Patchbay-Proxy" not in response
    assert upstream.seen == []


def test_a_connection_that_needs_reauthorisation_answers_409(alice, upstream):
    connection, _key = api_key_connection(alice, upstream.url)
    connection.status = "needs_reauth"
    connection.save()
    response = alice.client.get(proxy_url(alice, connection, "a"))
    assert response.status_code == 409
    assert response.json()["code"] == "reauthorisation_required"
    assert upstream.seen == []


def test_the_connections_own_base_url_wins_over_the_connectors(alice, upstream):
    connection, _key = api_key_connection(alice, "https://elsewhere.example/v1")
    connection.base_url = upstream.url + "/mine"
    connection.save()
    assert alice.client.get(proxy_url(alice, connection, "a")).status_code == 200
    assert upstream.last.path == "/mine/a"


def test_a_connection_without_any_base_url_answers_409(alice, upstream):
    connection, _key = api_key_connection(alice, "")
    response = alice.client.get(proxy_url(alice, connection, "a"))
    assert (response.status_code, response.json()["code"]) == (409, "base_url_required")


def _readme_verify():
    """The verification recipe exactly as README prints it."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("To verify on the receiving side:", 1)[1]
    code = block.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace["verify"]


@pytest.mark.parametrize(("where", "encoding"), [("header", "hex"), ("query", "base64url")])
def test_the_readme_recipe_verifies_a_proxied_request(alice, upstream, where, encoding):
    verify = _readme_verify()
    key = "hk-" + secrets.token_urlsafe(24)
    settings = {
        "name": "X-Signature",
        "in": where,
        "encoding": encoding,
        "digestInputs": ALL_INPUTS,
    }
    connector = connector_to(alice, upstream.url + "/v1")
    link = (config(connector, "hmac", "hmac", **settings), credential(alice, "string", value=key))
    connection = f.connection(alice.organisation, connector, links=[link])
    response = alice.client.put(
        proxy_url(alice, connection, "orders/9?expand=lines"),
        b'{"amount": 12}',
        content_type="application/json",
    )
    assert response.status_code == 200
    seen = upstream.last
    path, _, query = seen.path.partition("?")
    args = (seen.method, upstream.url + path, query, dict(seen.headers), seen.body)
    assert verify(*args, key=key.encode(), where=where, encoding=encoding)
    assert not verify(*args, key=b"another key", where=where, encoding=encoding)
