"""Every HTML page carries a strict Content-Security-Policy; the pages with a policy of
their own (the connect panel, the OAuth callback page) keep theirs."""

from __future__ import annotations

import re

import pytest
from django.test import Client

STRICT = {
    "default-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {part[0]: part[1] for part in parts}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/admin/login/", "/api/docs/", "/no/such/page", "/demo/provider/login/"]
)
def test_every_html_page_has_a_strict_policy(client: Client, path: str) -> None:
    response = client.get(path)
    assert response["Content-Type"].startswith("text/html")
    policy = directives(response["Content-Security-Policy"])
    for name, value in STRICT.items():
        assert policy[name] == value, (path, name)
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_an_inline_style_carries_the_nonce_of_its_own_response(client: Client) -> None:
    nonces = []
    for _ in range(2):
        response = client.get("/")
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
        assert nonce is not None
        assert f'<style nonce="{nonce[1]}">' in response.content.decode()
        nonces.append(nonce[1])
    assert nonces[0] != nonces[1]


@pytest.mark.django_db
def test_the_callback_page_keeps_its_own_policy(client: Client) -> None:
    response = client.get("/connections/oauth2/callback?state=unknown&code=x")
    policy = directives(response["Content-Security-Policy"])
    assert policy["form-action"] == "'none'"
    assert "script-src" not in policy
