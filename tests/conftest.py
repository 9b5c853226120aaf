"""Shared fixtures.

Actors: **alice** owns the resources under test (organisation "Alice Ltd" and
an API key); **charlie** is an outsider with his own organisation and key, so
every endpoint gets an access test. **provider** is a real OAuth 2.0
authorization server (django-oauth-toolkit) served by the live server on
loopback.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.conf import LazySettings
from django.db import connection
from rest_framework.test import APIClient

from organisations.keys import api_key_create
from organisations.models import Organisation


@dataclass
class Actor:
    organisation: Organisation
    key: str
    client: APIClient

    @property
    def org_id(self) -> str:
        return str(self.organisation.pk)

    def url(self, path: str) -> str:
        return f"/api/v2/o/{self.organisation.pk}/{path.lstrip('/')}"


def _actor(name: str) -> Actor:
    organisation = Organisation.objects.create(name=name)
    key = api_key_create(organisation=organisation, name=f"{name} key").key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return Actor(organisation=organisation, key=key, client=client)


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    """Tests marked ``postgres_only`` need real row locks or concurrent transactions."""
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (real concurrent transactions)")


@pytest.fixture
def alice(db: Any) -> Actor:
    return _actor("Alice Ltd")


@pytest.fixture
def charlie(db: Any) -> Actor:
    return _actor("Charlie Corp")


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


# --- The real OAuth 2.0 authorization server -----------------------------------


class _FormParser(HTMLParser):
    """Collects the inputs of the first <form> on a page (DOT's consent form)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action") or ""
            self._in_form = True
        elif tag == "input" and self._in_form and a.get("name"):
            if a.get("type") in ("submit", "button"):
                return
            self.fields[a["name"] or ""] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def parse_form(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    return parser


@dataclass
class Provider:
    """A django-oauth-toolkit authorization server on the live server."""

    base_url: str
    client_id: str
    client_secret: str
    username: str
    password: str
    application: Any

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/demo/provider/authorize/"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/demo/provider/token/"

    @property
    def revoke_url(self) -> str:
        return f"{self.base_url}/demo/provider/revoke_token/"

    @property
    def me_url(self) -> str:
        return f"{self.base_url}/demo/provider/me"

    def consent(self, authorize_url: str, *, allow: bool = True) -> str:
        """Sign in and answer the consent form like a person would; return the redirect
        the provider sends the browser to (not followed)."""
        browser = requests.Session()
        page = browser.get(authorize_url, allow_redirects=True, timeout=10)
        if "/login/" in page.url:
            login = parse_form(page.text)
            login.fields.update({"username": self.username, "password": self.password})
            page = browser.post(
                urljoin(page.url, login.action or page.url),
                data=login.fields,
                headers={"Referer": page.url},
                allow_redirects=True,
                timeout=10,
            )
        assert page.status_code == 200, page.text[:500]
        form = parse_form(page.text)
        assert "client_id" in form.fields, "expected the provider's consent form"
        if allow:
            form.fields["allow"] = "Authorize"
        answer = browser.post(
            urljoin(page.url, form.action or page.url),
            data=form.fields,
            headers={"Referer": page.url},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["Location"]

    def me(self, access_token: str) -> requests.Response:
        """Call the provider's own protected endpoint with an access token."""
        return requests.get(
            self.me_url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10
        )


def callback_query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


@pytest.fixture
def provider(live_server: Any, settings: LazySettings, django_user_model: Any) -> Provider:
    from oauth2_provider.models import get_application_model

    settings.PATCHBAY_PUBLIC_URL = live_server.url
    Application = get_application_model()
    client_secret = secrets.token_urlsafe(32)
    username, password = "dana", "dana-" + secrets.token_urlsafe(8)
    owner = django_user_model.objects.create_user(username=username, password=password)
    application = Application.objects.create(
        name="Test provider client",
        user=owner,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=f"{live_server.url}/connections/oauth2/callback",
        client_secret=client_secret,
        algorithm="",
    )
    return Provider(
        base_url=live_server.url,
        client_id=application.client_id,
        client_secret=client_secret,
        username=username,
        password=password,
        application=application,
    )


# --- Secret hygiene -------------------------------------------------------------


@pytest.fixture
def assert_no_secrets(caplog: pytest.LogCaptureFixture) -> Any:
    """Yields ``check(*secrets, texts=[...])``: fails if any secret is in the given texts or in any
    log record captured during the test."""
    caplog.set_level(logging.DEBUG)

    def check(*secret_values: str, texts: list[str] | None = None) -> None:
        haystacks = list(texts or [])
        haystacks += [r.getMessage() for r in caplog.records]
        haystacks += [str(r.exc_info[1]) for r in caplog.records if r.exc_info and r.exc_info[1]]
        for secret in secret_values:
            assert secret, "empty secret given to assert_no_secrets"
            for text in haystacks:
                assert secret not in text, (
                    f"a secret leaked: …{text[max(0, text.find(secret) - 40) :][:120]}…"
                )

    return check


# --- Refusal records ------------------------------------------------------------


@dataclass
class Refusals:
    """The refusal records (``core.logs.refusal``) a test produced, and a grep for secrets."""

    caplog: pytest.LogCaptureFixture

    @property
    def records(self) -> list[logging.LogRecord]:
        return [r for r in self.caplog.records if hasattr(r, "refusal")]

    def one(
        self, level: int, code: str, reason: str | None = None, **ids: object
    ) -> logging.LogRecord:
        """The one refusal record with this code (and reason), at ``level``; its message and
        its ``refusal_ids`` carry every id given."""
        found = [
            r
            for r in self.records
            if r.refusal == code  # type: ignore[attr-defined]
            and (reason is None or r.refusal_ids.get("reason") == reason)  # type: ignore[attr-defined]
        ]
        assert len(found) == 1, [r.getMessage() for r in self.records]
        record = found[0]
        assert record.levelno == level, record.getMessage()
        message = record.getMessage()
        assert message.startswith(f"refused {code}")
        if reason is not None:
            assert f" reason={reason}" in message
        for name, value in ids.items():
            assert record.refusal_ids[name] == str(value), (name, message)  # type: ignore[attr-defined]
            assert f" {name}={value}" in message
        return record

    def none_hold(self, *secret_values: str) -> None:
        """No captured record holds any secret: not the formatted text, a message, its
        arguments, an exception or a refusal's ids."""
        texts = [self.caplog.text]
        for r in self.caplog.records:
            texts += [r.getMessage(), repr(r.args), repr(getattr(r, "refusal_ids", None))]
            texts += [str(r.exc_info[1])] if r.exc_info and r.exc_info[1] else []
        for secret in secret_values:
            assert len(secret) >= 6, "give the whole secret"
            for text in texts:
                assert secret not in text, f"a secret leaked into a log record: {secret[:4]}…"


@pytest.fixture
def refusals(caplog: pytest.LogCaptureFixture) -> Refusals:
    caplog.set_level(logging.DEBUG)
    return Refusals(caplog)


URL_RE = re.compile(r"https?://\S+")
