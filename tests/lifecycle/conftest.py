"""Fixtures for the token lifecycle: a connection authorised at the real provider
(django-oauth-toolkit on the live server, short-lived tokens), a wire tap that counts
what Patchbay sends while still sending it, and helpers to age tokens."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from django.utils import timezone

import core.outbound
from connections.models import Connection, ConnectionCredential
from credentials.models import Credential
from tests.connections import factories as f
from tests.connections.conftest import FakeTokenEndpoint

TOKEN_SECONDS = 120


def _forget_oauthlib_cores() -> None:
    """django-oauth-toolkit caches its oauthlib server (with the token lifetime in it) on each
    view class; drop those so a changed OAUTH2_PROVIDER applies, and stops applying."""
    from oauth2_provider.views.mixins import OAuthLibMixin

    pending: list[type] = [OAuthLibMixin]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "_oauthlib_core" in cls.__dict__:
            delattr(cls, "_oauthlib_core")


@pytest.fixture(autouse=True)
def _short_lived_tokens(settings: Any) -> Iterator[None]:
    """The provider issues tokens that live two minutes (the config's margin is 60 s)."""
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ACCESS_TOKEN_EXPIRE_SECONDS": TOKEN_SECONDS,
    }
    _forget_oauthlib_cores()
    yield
    _forget_oauthlib_cores()


@dataclass
class Sent:
    method: str
    url: str
    form: dict[str, list[str]]


@dataclass
class Wire:
    """Every outbound request Patchbay makes, recorded, then sent on for real (or faked)."""

    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    fake: Callable[..., requests.Response] | None = None
    delay: float = 0.0

    def to(self, url: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.url == url]

    def grants(self, url: str) -> list[str]:
        return [s.form.get("grant_type", ["?"])[0] for s in self.to(url)]


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    real = core.outbound.transport
    tap = Wire()

    def transport(adapter: Any, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        body = request.body or ""
        form = parse_qs(body.decode() if isinstance(body, bytes) else body)
        with tap.lock:
            tap.sent.append(Sent(request.method or "", request.url or "", form))
        if tap.delay:
            threading.Event().wait(tap.delay)
        if tap.fake is not None:
            return tap.fake(adapter, request, **kwargs)
        return real(adapter, request, **kwargs)

    monkeypatch.setattr(core.outbound, "transport", transport)
    return tap


@pytest.fixture
def wired(alice: Any, provider: Any) -> tuple[Any, Any, Credential]:
    """Alice's connector, its oauth2 config (revocation on, 60 s margin) and client credential,
    all pointing at the real provider."""
    credential = f.client_credential(
        alice.organisation,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_url=provider.token_url,
    )
    connector, config = f.oauth2_connector(
        alice.organisation,
        name="Demo provider",
        authorizeUrl=provider.authorize_url,
        tokenUrl=provider.token_url,
        revokeUrl=provider.revoke_url,
        refreshMarginSeconds=60,
        defaultScopes=["read"],
        grant={
            "type": "authorizationCode",
            "authorizationCode": {
                "credentialId": str(credential.pk),
                "organisationId": alice.org_id,
                "clientId": provider.client_id,
            },
        },
    )
    return connector, config, credential


def authorise(alice: Any, provider: Any, connector: Any, credential: Credential) -> Connection:
    """A person connects through the real provider: initialise, consent, browser callback."""
    response = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
        f.initialise_body(credential, authorizeUrl=provider.authorize_url),
        format="json",
    )
    assert response.status_code == 200, response.json()
    page = requests.get(provider.consent(response.json()["url"]), timeout=10)
    assert page.status_code == 200, page.text
    return Connection.objects.order_by("-created_at").first()  # type: ignore[return-value]


@pytest.fixture
def connected(alice: Any, provider: Any, wired: Any) -> Connection:
    connector, _config, credential = wired
    return authorise(alice, provider, connector, credential)


def token_of(connection: Connection) -> Credential:
    return ConnectionCredential.objects.get(
        connection=connection, credential__type="oauth2-token"
    ).credential


def age(
    connection: Connection, *, seconds_left: float = -10, at_provider: bool = True
) -> Credential:
    """Make the connection's token expire in ``seconds_left`` (negative: already expired),
    in Patchbay's record and, with ``at_provider``, at the provider too."""
    from oauth2_provider.models import get_access_token_model

    credential = token_of(connection)
    expires = timezone.now() + timedelta(seconds=seconds_left)
    data = dict(credential.data)
    data["expiresAt"] = expires.isoformat()
    credential.data = data
    credential.save()
    if at_provider:
        get_access_token_model().objects.filter(token=data["accessToken"]).update(expires=expires)
    return credential


def get_token(actor: Any, connection: Connection, query: str = "") -> Any:
    return actor.client.get(actor.url(f"connections/{connection.pk}/access-token{query}"))


@pytest.fixture
def fake_endpoint(wire: Wire) -> FakeTokenEndpoint:
    """A token endpoint faked at the seam (for what a real server cannot do), still tapped."""
    fake = FakeTokenEndpoint(
        body={
            "access_token": "fake-new-access-token",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "fake-new-refresh-token",
        }
    )
    wire.fake = fake
    return fake


def events(type: str) -> list[dict[str, Any]]:
    from webhooks.models import Event

    return [e.data for e in Event.objects.filter(type=type).order_by("created_at")]
