"""Every API route, every method: outsiders get nothing, hostile input never gets a 500.

Per-endpoint tests live beside each app; this sweep walks the URL resolver so
that a route added later is covered without anyone remembering to.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from connections.models import AuthorisationRequest
from tests.conftest import Actor
from tests.connections import factories as f
from webhooks.services import event_emit

METHODS = ("get", "post", "put", "patch", "delete")
OUR_APPS = ("organisations", "connectors", "credentials", "connections", "embed", "webhooks")


def _walk(patterns: list[Any], prefix: str) -> Iterator[str]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


API_ROUTES = sorted(r for r in _walk(get_resolver().url_patterns, "/") if r.startswith("/api/v2/"))
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


@pytest.fixture(autouse=True)
def _no_outbound_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Nothing in the sweep may reach a provider: the seam records and refuses."""
    attempts: list[str] = []

    def refuse(adapter: Any, request: Any, **kwargs: Any) -> Any:
        attempts.append(request.url)
        raise AssertionError(f"outbound call during the sweep: {request.url}")

    monkeypatch.setattr("core.outbound.transport", refuse)
    return attempts


def test_the_sweep_sees_every_api_route():
    assert len(API_ROUTES) >= 25
    assert "/api/v2/o/<str:organisation_id>/connections/<str:connection_id>" in API_ROUTES
    assert "/api/v2/o/<str:organisation_id>/connections/<str:connection_id>/verify" in API_ROUTES


@dataclass
class World:
    ids: dict[str, str]
    session: str
    client_credential_id: str = ""


def _build(actor: Actor, *, with_everything: bool) -> World:
    """One of each resource, created the way callers create them."""
    c = actor.client
    connector = c.post(
        actor.url("connectors"),
        {
            "name": "CRM",
            "authSchemeConfigs": [
                {
                    "id": "oauth2",
                    "type": "oauth2",
                    "oauth2": {
                        "authorizeUrl": "https://login.example.com/authorize",
                        "tokenUrl": "https://login.example.com/token",
                        "grant": {
                            "type": "authorizationCode",
                            "authorizationCode": {"clientId": "cid", "clientSecret": "csecret-1"},
                        },
                    },
                },
                {"id": "key", "type": "api-key", "apiKey": {"name": "X-Key", "in": "header"}},
            ],
        },
        format="json",
    ).json()
    credential = c.post(
        actor.url("credentials"),
        {"name": "k", "type": "string", "data": {"string": {"value": "sweep-secret-1"}}},
        format="json",
    ).json()
    hub = c.post(
        actor.url("hubs"),
        {
            "name": "Hub",
            "connectors": [connector["id"]],
            "allowedOrigins": ["https://app.example.com"],
        },
        format="json",
    ).json()
    session = c.post(
        actor.url(f"hubs/{hub['id']}/sessions"),
        {"endUser": {"externalId": "user-1", "displayName": "User One"}},
        format="json",
    ).json()
    users = c.get(actor.url(f"hubs/{hub['id']}/users")).json()["items"]
    client_credential_id = ""
    ids = {
        "organisation_id": actor.org_id,
        "connector_id": connector["id"],
        "config_id": "oauth2",
        "credential_id": credential["id"],
        "hub_id": hub["id"],
        "user_id": users[0]["id"],
        "path": "v1/items",  # the proxy's path within the upstream: not an id
    }
    if with_everything:
        from connectors.models import AuthSchemeConfig

        config = AuthSchemeConfig.objects.get(connector_id=connector["id"], config_id="oauth2")
        token = f.token_credential(actor.organisation)
        connection = f.connection(actor.organisation, config.connector, links=[(config, token)])
        client_id = config.settings["grant"]["authorizationCode"]["credentialId"]
        client_credential_id = client_id
        c.post(
            actor.url(f"connectors/{connector['id']}/oauth2/initialise"),
            {
                "authorizeUrl": "https://login.example.com/authorize",
                "clientId": "cid",
                "credential": {"id": client_id, "organisationId": actor.org_id},
            },
            format="json",
        )
        webhook = c.post(
            actor.url("webhooks"), {"url": "https://hooks.example.com/in"}, format="json"
        ).json()
        event_emit(
            organisation=actor.organisation,
            type="connection.created",
            data={"connectionId": str(connection.pk)},
        )
        delivery = c.get(actor.url(f"webhooks/{webhook['id']}/deliveries")).json()["items"][0]
        ids |= {
            "connection_id": str(connection.pk),
            "authorisation_id": str(
                AuthorisationRequest.objects.get(organisation=actor.organisation).pk
            ),
            "webhook_id": webhook["id"],
            "delivery_id": delivery["id"],
        }
    return World(ids=ids, session=session["token"], client_credential_id=client_credential_id)


@pytest.fixture
def alice_world(alice: Actor) -> World:
    return _build(alice, with_everything=True)


@pytest.fixture
def charlie_world(charlie: Actor) -> World:
    return _build(charlie, with_everything=False)


@pytest.fixture
def charlie_full_world(charlie: Actor) -> World:
    return _build(charlie, with_everything=True)


def _path(route: str, ids: dict[str, str], **override: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return override.get(name, ids[name])

    return PARAM.sub(fill, route)


def _snapshot() -> dict[str, list[tuple[str, str]]]:
    """Every row of our apps, with its last change where the model records one."""
    state = {}
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS or model._meta.model_name == "apikey":
            continue
        has_updated = any(field.name == "updated_at" for field in model._meta.fields)
        rows = model._default_manager.order_by("pk").values_list(
            "pk", "updated_at" if has_updated else "pk"
        )
        state[model._meta.label] = [(str(a), str(b)) for a, b in rows]
    return state


def _send(client: APIClient, method: str, path: str, body: Any = None, **extra: Any):
    if method in ("get", "delete"):
        return getattr(client, method)(path, **extra)
    return getattr(client, method)(path, body if body is not None else {}, format="json", **extra)


def _embed(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _outsider_status_ok(route: str, status: int) -> bool:
    if route == "/api/v2/connections/oauth2/callback":
        return status in (400, 405)  # no state of his: invalid_state, nothing consumed
    return status in (401, 404, 405)


def test_an_outsider_gets_nothing_from_any_route(alice, charlie, alice_world, charlie_world):
    before = _snapshot()
    failures = []
    for route in API_ROUTES:
        path = _path(route, alice_world.ids)
        # On embed routes the outsider holds a session of his own hub; elsewhere his API key.
        client = (
            _embed(charlie_world.session) if route.startswith("/api/v2/embed/") else charlie.client
        )
        for method in METHODS:
            response = _send(client, method, path)
            if not _outsider_status_ok(route, response.status_code):
                failures.append(f"{method.upper()} {route}: {response.status_code}")
            elif response.status_code != 405:
                assert "code" in response.json(), (method, route)
    assert not failures, "\n".join(failures)
    assert _snapshot() == before, "an outsider's request changed something"


# Every bad id the per-app sweeps used to send (credentials, connectors, connections,
# initialise, hubs, embed sessions, embed polling), now sent to every id segment of every
# route: injection-looking text, path tricks, integers past any column, NUL, over-long
# text, a well-formed UUID that names nothing.
NIL = "00000000-0000-0000-0000-000000000000"
HOSTILE_IDS = [
    "1 OR 1=1",
    "1%20OR%201=1",
    "' OR ''='",
    "%27%3B--",  # ';-- once decoded
    "..%2Fx",  # ../x once decoded
    "../x",
    "..",
    "-1",
    "9" * 23,
    "9" * 40,
    "9" * 400,
    "%00",
    "x" * 300,
    NIL,
    "3f2b8c1e-6d4a-4e0f-9b7c-2a1d5e8f9c04",  # a random UUID: unknown, not merely nil
]
# Not an id of the caller's organisation but a real one of another: the id of the same
# kind in charlie's world, sent with alice's key or session.
ANOTHER_ORGANISATIONS = "another organisation's id"
ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _allowed_methods(route: str, ids: dict[str, str]) -> set[str]:
    """The methods a route answers, from its view (a viewset's actions, an APIView's handlers)."""
    func = resolve(_path(route, ids)).func
    actions = getattr(func, "actions", None)
    if actions is not None:
        return {m for m in actions if m in METHODS}
    view = func.view_class  # type: ignore[attr-defined]
    return {m for m in METHODS if hasattr(view, m)}


def _valid_body(route: str, world: World) -> dict[str, Any]:
    """A body the route would accept, so that a 404 cannot hide behind a 400 for the body
    (initialise, for one, checks everything that needs no database before the lookup)."""
    name = resolve(_path(route, world.ids)).url_name
    if name in ("oauth2-initialise", "embed-oauth2-initialise"):
        return {
            "authorizeUrl": "https://login.example.com/authorize",
            "clientId": "cid",
            "credential": {
                "id": world.client_credential_id,
                "organisationId": world.ids["organisation_id"],
            },
        }
    bodies: dict[str, dict[str, Any]] = {
        "auth-scheme-config-detail": {"type": "none"},
        "connector-detail": {"name": "x"},
        "credential-detail": {"name": "x"},
        "hub-detail": {"name": "x"},
        "hub-session-create": {"endUser": {"externalId": "u"}},
        "hub-user-list": {"externalId": "u2"},
        "hub-user-detail": {"displayName": "x"},
        "webhook-detail": {"url": "https://hooks.example.com/other"},
    }
    return bodies.get(name or "", {})


def _error_shape(response: Any) -> bool:
    """SPEC §4: ``{"code", "message", "fields"?}``, the code in snake case."""
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    body = response.json()
    return (
        isinstance(body, dict)
        and set(body) <= {"code", "message", "fields"}
        and isinstance(body.get("code"), str)
        and ERROR_CODE.match(body["code"]) is not None
        and isinstance(body.get("message"), str)
        and bool(body["message"])
    )


def _refused_as_expected(response: Any, *, segment: str, method: str, allowed: bool) -> bool:
    status, code = response.status_code, response.json().get("code")
    if (status, code) == (404, "not_found"):
        return True
    if not allowed:
        # A method the route lacks: 405, unless the lookup of an id refused first.
        return (status, code) == (405, "method_not_allowed")
    # A PUT of a config (an upsert, sent without a body here) is refused for its body.
    return segment == "config_id" and method == "put" and (status, code) == (400, "invalid_request")


def test_the_sweep_knows_the_methods_of_every_route(alice, alice_world):
    for route in API_ROUTES:
        assert _allowed_methods(route, alice_world.ids), route
    detail = "/api/v2/o/<str:organisation_id>/credentials/<str:credential_id>"
    assert _allowed_methods(detail, alice_world.ids) == {"get", "put", "patch", "delete"}


@pytest.mark.parametrize("bad", [*HOSTILE_IDS, ANOTHER_ORGANISATIONS])
def test_bad_ids_answer_404_in_the_error_shape_on_every_route(request, alice, alice_world, bad):
    others = request.getfixturevalue("charlie_full_world") if bad == ANOTHER_ORGANISATIONS else None
    before = _snapshot()
    failures = []
    tried = 0
    for route in API_ROUTES:
        client = _embed(alice_world.session) if route.startswith("/api/v2/embed/") else alice.client
        allowed = _allowed_methods(route, alice_world.ids)
        body = _valid_body(route, alice_world)
        for segment in PARAM.findall(route):
            if segment == "path":
                continue  # not an id: hostile proxy paths are tests/proxy's
            if others is None:
                value = bad
            elif segment == "config_id":
                continue  # a name within its connector: the connector id is what differs
            else:
                value = others.ids[segment]
            path = _path(route, alice_world.ids, **{segment: value})
            for method in METHODS:
                # PUT of a config id that is a valid name creates that config (config ids
                # are chosen by the client); so it gets no body here, and a 400 for the
                # body is the expected refusal. Hostile names with a valid body:
                # tests/connectors (test_it_answers_hostile_config_ids).
                upsert = segment == "config_id" and method == "put"
                response = _send(client, method, path, {} if upsert else body)
                tried += 1
                where = f"{method.upper()} {route} with {segment}={value[:20]!r}"
                if not _error_shape(response):
                    failures.append(f"{where}: {response.status_code} not in the error shape")
                elif not _refused_as_expected(
                    response, segment=segment, method=method, allowed=method in allowed
                ):
                    failures.append(f"{where}: {response.status_code} {response.json()['code']}")
    assert tried > 200
    assert not failures, "\n".join(failures)
    assert _snapshot() == before


HOSTILE_BODIES: list[tuple[str, bytes, str]] = [
    ("malformed JSON", b'{"name": ', "application/json"),
    ("JSON array", b"[1, 2, 3]", "application/json"),
    ("JSON string", b'"just a string"', "application/json"),
    (
        "NUL character",
        b'{"name": "a\\u0000b", "url": "https://x.example/\\u0000"}',
        "application/json",
    ),
    ("duplicate keys", b'{"name": "a", "name": "b"}', "application/json"),
    ("wrong content type", b"name=a&url=b", "application/x-www-form-urlencoded"),
    ("not UTF-8", b'{"name": "\xff\xfe"}', "application/json"),
    ("deeply nested", b'{"a": ' * 2000 + b"1" + b"}" * 2000, "application/json"),
    ("oversize", b'{"name": "' + b"x" * 70_000 + b'"}', "application/json"),
]


@pytest.mark.parametrize(
    ("label", "body", "content_type"), HOSTILE_BODIES, ids=[b[0] for b in HOSTILE_BODIES]
)
def test_hostile_bodies_answer_4xx_and_store_nothing(alice, alice_world, label, body, content_type):
    before = _snapshot()
    failures = []
    for route in API_ROUTES:
        path = _path(route, alice_world.ids)
        client = _embed(alice_world.session) if route.startswith("/api/v2/embed/") else alice.client
        for method in ("post", "put", "patch"):
            response = client.generic(method.upper(), path, body, content_type=content_type)
            if not 400 <= response.status_code < 500:
                failures.append(f"{method.upper()} {route}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert _snapshot() == before, f"{label}: a hostile body changed something"


def _cursor(created: str) -> str:
    raw = f"{created}|00000000-0000-0000-0000-000000000001".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


HOSTILE_QUERIES = [
    "type=%00&first=%00&after=%00&forceRefresh=%00&state=%00&code=%00",
    "first=-1&after=' OR 1=1 --",
    "first=99999999999999999999&after=" + "A" * 5000,
    "type=oauth2-token&type=string",
    "first=%C2%B2",  # "²".isdigit() is True; int("²") is an error
    # Cursors that decode: a timestamp that overflows once in UTC, and one with no zone.
    "after=" + _cursor("0001-01-01T00:00:00+01:00"),
    "after=" + _cursor("2026-01-01T00:00:00"),
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_query_strings_never_cause_a_server_error(alice, alice_world, query):
    before = _snapshot()
    failures = []
    for route in API_ROUTES:
        path = f"{_path(route, alice_world.ids)}?{query}"
        client = _embed(alice_world.session) if route.startswith("/api/v2/embed/") else alice.client
        status = client.get(path).status_code
        if status >= 500:
            failures.append(f"GET {route}?{query[:30]}: {status}")
    assert not failures, "\n".join(failures)
    assert _snapshot() == before


# --- Accept, OPTIONS and the errors Django itself produces (issue 18, items 9, 10, 14) -----

JSON_ACCEPTS = [None, "*/*", "application/json", "text/html,application/xhtml+xml,*/*;q=0.8"]
NON_JSON_ACCEPTS = ["text/html", "application/xml", "text/plain", "image/png"]


def _client_for(route: str, actor: Actor, world: World) -> APIClient:
    return _embed(world.session) if route.startswith("/api/v2/embed/") else actor.client


def test_every_route_answers_json_to_any_accept_that_allows_it(alice, alice_world):
    failures = []
    for route in API_ROUTES:
        path = _path(route, alice_world.ids)
        client = _client_for(route, alice, alice_world)
        for accept in JSON_ACCEPTS:
            extra: dict[str, Any] = {"HTTP_ACCEPT": accept} if accept else {}
            response = client.get(path, **extra)
            where = f"GET {route} Accept={accept}"
            if response.status_code >= 500:
                failures.append(f"{where}: {response.status_code}")
            elif not response["Content-Type"].startswith("application/json"):
                failures.append(f"{where}: {response['Content-Type']}")
            elif response.status_code >= 400 and not _error_shape(response):
                failures.append(f"{where}: {response.status_code} not in the error shape")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("accept", NON_JSON_ACCEPTS)
def test_an_accept_that_rules_json_out_answers_406_on_every_route_and_method(
    alice, alice_world, accept
):
    before = _snapshot()
    failures = []
    for route in API_ROUTES:
        if route.endswith("/proxy/<path:path>"):
            continue  # the caller's Accept is the upstream's to honour: the test below
        path = _path(route, alice_world.ids)
        client = _client_for(route, alice, alice_world)
        for method in METHODS:
            body = _valid_body(route, alice_world)
            response = _send(client, method, path, body, HTTP_ACCEPT=accept)
            where = f"{method.upper()} {route}"
            if not _error_shape(response):
                failures.append(f"{where}: {response.status_code} not in the error shape")
            elif (response.status_code, response.json()["code"]) != (406, "not_acceptable"):
                failures.append(f"{where}: {response.status_code} {response.json()['code']}")
    assert not failures, "\n".join(failures)
    assert _snapshot() == before, "a request refused for its Accept header changed something"


@pytest.mark.parametrize("accept", NON_JSON_ACCEPTS)
def test_the_proxy_passes_accept_on_and_answers_its_own_errors_in_json(alice, alice_world, accept):
    route = next(r for r in API_ROUTES if r.endswith("/proxy/<path:path>"))
    path = _path(route, alice_world.ids)
    for method in METHODS:
        response = _send(alice.client, method, path, None, HTTP_ACCEPT=accept)
        assert response.status_code != 406, method
        assert response.status_code < 500, method
        assert _error_shape(response), (method, response.status_code)


def _allow(response: Any) -> set[str]:
    return {m.strip() for m in response.get("Allow", "").split(",") if m.strip()}


def test_options_answers_every_route_with_the_methods_it_takes(alice, alice_world):
    before = _snapshot()
    failures = []
    for route in API_ROUTES:
        path = _path(route, alice_world.ids)
        response = _client_for(route, alice, alice_world).options(path)
        methods = {m.upper() for m in _allowed_methods(route, alice_world.ids)}
        expected = methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
        if response.status_code != 200:
            failures.append(f"OPTIONS {route}: {response.status_code}")
        elif _allow(response) != expected:
            failures.append(f"OPTIONS {route}: Allow {sorted(_allow(response))}")
        elif set(response.json()["methods"]) != expected:
            failures.append(f"OPTIONS {route}: methods {response.json()['methods']}")
    assert not failures, "\n".join(failures)
    assert _snapshot() == before


def test_options_gives_an_outsider_nothing(alice_world, charlie, charlie_world, anonymous):
    failures = []
    for route in API_ROUTES:
        path = _path(route, alice_world.ids)
        client = _client_for(route, charlie, charlie_world)
        response = client.options(path)
        if route == "/api/v2/connections/oauth2/callback":
            # Not any organisation's route: everyone with a key may ask what it takes.
            if response.status_code != 200:
                failures.append(f"OPTIONS {route} as charlie: {response.status_code}")
        elif not _outsider_status_ok(route, response.status_code) or not _error_shape(response):
            failures.append(f"OPTIONS {route} as charlie: {response.status_code}")
        response = anonymous.options(path)
        if response.status_code != 401 or not _error_shape(response):
            failures.append(f"OPTIONS {route} with no credentials: {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("count", [201, 1_900])
def test_too_many_query_parameters_answer_400_in_the_error_shape(alice, alice_world, count):
    query = "&".join(f"p{i}=1" for i in range(count))
    failures = []
    for route in API_ROUTES:
        path = f"{_path(route, alice_world.ids)}?{query}"
        client = _client_for(route, alice, alice_world)
        for method in ("get", "post"):
            response = _send(client, method, path, _valid_body(route, alice_world))
            if not _error_shape(response) or response.status_code != 400:
                failures.append(f"{method.upper()} {route}: {response.status_code}")
            elif response.json()["code"] != "too_many_parameters":
                failures.append(f"{method.upper()} {route}: {response.json()['code']}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("debug", [False, True])
def test_djangos_own_404_on_an_api_path_is_in_the_error_shape(alice, settings, debug):
    settings.DEBUG = debug  # DEBUG answers with a technical page of its own
    for path in ("/api/v2/nowhere", "/api/v2/o/", "/api/nowhere", f"/api/v2/o/{alice.org_id}/x"):
        response = alice.client.get(path)
        assert response.status_code == 404, path
        assert _error_shape(response), (path, response.content[:80])
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("debug", [False, True])
def test_a_server_error_on_an_api_path_is_in_the_error_shape(alice, settings, monkeypatch, debug):
    settings.DEBUG = debug
    monkeypatch.setattr(
        "organisations.outputs.Organisation.render",
        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom sweep-secret-500")),
    )
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.key}")
    response = client.get(f"/api/v2/o/{alice.org_id}")
    assert response.status_code == 500
    assert _error_shape(response)
    assert response.json()["code"] == "internal_error"
    assert b"sweep-secret-500" not in response.content


@pytest.mark.parametrize("debug", [False, True])
def test_a_host_django_refuses_answers_400_in_the_error_shape(alice, settings, debug):
    settings.DEBUG = debug
    response = alice.client.get(f"/api/v2/o/{alice.org_id}", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert _error_shape(response)
    assert response.json()["code"] == "invalid_request"


def test_pages_outside_the_api_keep_djangos_html(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_too_large_body_django_refuses_is_a_413_in_the_error_shape(rf):
    from django.core.exceptions import RequestDataTooBig

    from core.middleware import ApiErrorShapeMiddleware

    middleware = ApiErrorShapeMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    response = middleware.process_exception(rf.post("/api/v2/x"), RequestDataTooBig("big"))
    assert response is not None
    assert response.status_code == 413
    assert json.loads(response.content)["code"] == "request_too_large"
    assert middleware.process_exception(rf.post("/admin/x"), RequestDataTooBig("big")) is None


def test_every_route_answers_429_in_the_error_shape_once_limited(alice, alice_world, settings):
    """Rate limits (core/ratelimit.py) cover every route: the key's limit for API-key routes,
    the session's for embed ones, the address's before either; nothing is stored."""
    from tests.ratelimits import set_limits

    set_limits(settings, address="1000/min", key="1/min", session="1/min")
    alice.client.get(f"/api/v2/o/{alice.org_id}")  # the key's one request this minute
    embed = _embed(alice_world.session)
    embed.get(f"/api/v2/embed/{alice_world.ids['hub_id']}/session")
    before = _snapshot()
    failures = []
    for route in API_ROUTES:
        path = _path(route, alice_world.ids)
        client = embed if route.startswith("/api/v2/embed/") else alice.client
        for method in METHODS:
            response = _send(client, method, path)
            if response.status_code == 405:
                continue
            if response.status_code != 429 or response.json().get("code") != "too_many_requests":
                failures.append(f"{method.upper()} {route}: {response.status_code}")
            elif int(response["Retry-After"]) < 1:
                failures.append(f"{method.upper()} {route}: Retry-After {response['Retry-After']}")
    assert not failures, "\n".join(failures)
    assert _snapshot() == before


# --- Staff sessions need the model permission, as in the admin (SPEC §11) ---------------


def _staff(django_user_model: Any, name: str, *codenames: str, superuser: bool = False) -> Any:
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(
        username=name, password=f"{name}-pw-1", is_staff=True, is_superuser=superuser
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = APIClient()
    client.force_login(user)
    return client


def _staff_expected(route: str) -> tuple[int, str]:
    if route.startswith("/api/v2/embed/"):
        return 401, "invalid_session"  # a connect session's routes: no session, no entry
    return 403, "forbidden"


def test_a_staff_user_without_permissions_gets_403_on_every_route(
    alice, alice_world, django_user_model, refusals
):
    staff = _staff(django_user_model, "stan")
    before = _snapshot()
    failures = []
    for route in API_ROUTES:
        path = _path(route, alice_world.ids)
        for method in [*sorted(_allowed_methods(route, alice_world.ids)), "options"]:
            response = _send(staff, method, path, _valid_body(route, alice_world))
            got = (response.status_code, response.json().get("code"))
            if got != _staff_expected(route):
                failures.append(f"{method.upper()} {route}: {got}")
    assert not failures, "\n".join(failures)
    assert _snapshot() == before, "a staff user without permissions changed something"
    ids = [r.refusal_ids for r in refusals.records if r.refusal == "forbidden"]
    assert ids
    assert all(i["reason"] == "staff_permission" for i in ids)
    assert not [i for i in ids if i["permission"] == "none_declared"], "a route declares nothing"


def test_the_permission_a_403_names_is_the_one_that_opens_the_route(
    alice, alice_world, django_user_model
):
    from django.contrib.auth.models import Permission

    failures: list[str] = []
    for route in API_ROUTES:
        if route.startswith("/api/v2/embed/") or route.endswith("/oauth2/callback"):
            continue  # not staff routes
        if "get" not in _allowed_methods(route, alice_world.ids):
            continue
        path = _path(route, alice_world.ids)
        name = f"s{len(failures)}{abs(hash(route)) % 10**8}"
        staff = _staff(django_user_model, name)
        refused = staff.get(path)
        named = re.findall(r"\b(\w+)\.(\w+)\b", refused.json()["message"])
        if refused.status_code != 403 or not named:
            failures.append(f"GET {route}: {refused.status_code} {refused.json()}")
            continue
        user = django_user_model.objects.get(username=name)
        for app_label, codename in named:
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        granted = staff.get(path)
        if granted.status_code in (401, 403) or granted.status_code >= 500:
            failures.append(f"GET {route} with {named}: {granted.status_code}")
    assert not failures, "\n".join(failures)


CREDENTIALS = "/api/v2/o/<str:organisation_id>/credentials"
CREDENTIAL = "/api/v2/o/<str:organisation_id>/credentials/<str:credential_id>"


def test_view_credential_alone_reads_credentials_and_writes_nothing(
    alice, alice_world, django_user_model
):
    staff = _staff(django_user_model, "vera", "view_credential")
    listed = staff.get(_path(CREDENTIALS, alice_world.ids))
    assert listed.status_code == 200, listed.content
    assert alice_world.ids["credential_id"] in {c["id"] for c in listed.json()["items"]}
    one = staff.get(_path(CREDENTIAL, alice_world.ids))
    assert one.status_code == 200
    assert one.json()["id"] == alice_world.ids["credential_id"]
    before = _snapshot()
    body = {"name": "k2", "type": "string", "data": {"string": {"value": "vera-secret-1"}}}
    writes = [
        ("post", CREDENTIALS, body),
        ("put", CREDENTIAL, body),
        ("patch", CREDENTIAL, {"name": "renamed"}),
        ("delete", CREDENTIAL, None),
    ]
    for method, route, payload in writes:
        response = _send(staff, method, _path(route, alice_world.ids), payload)
        assert (response.status_code, response.json()["code"]) == (403, "forbidden"), method
        assert "credentials." in response.json()["message"]
    # Nor anything else: the connection's live access token is not a credential read.
    token_route = "/api/v2/o/<str:organisation_id>/connections/<str:connection_id>/access-token"
    assert staff.get(_path(token_route, alice_world.ids)).status_code == 403
    assert (
        staff.get(_path("/api/v2/o/<str:organisation_id>/connectors", alice_world.ids)).status_code
        == 403
    )
    assert _snapshot() == before


def test_a_superuser_keeps_full_access(alice, alice_world, django_user_model):
    root = _staff(django_user_model, "root", superuser=True)
    assert root.get(_path(CREDENTIALS, alice_world.ids)).status_code == 200
    created = root.post(
        _path(CREDENTIALS, alice_world.ids),
        {"name": "k3", "type": "string", "data": {"string": {"value": "root-secret-1"}}},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert root.delete(_path(CREDENTIAL, alice_world.ids)).status_code == 204


def test_an_inactive_staff_user_gets_nothing(alice, alice_world, django_user_model):
    staff = _staff(django_user_model, "ivan", "view_credential")
    django_user_model.objects.filter(username="ivan").update(is_active=False)
    assert staff.get(_path(CREDENTIALS, alice_world.ids)).status_code in (401, 403)
