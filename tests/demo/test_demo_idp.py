"""The demo provider as the demo IdP: django-oauth-toolkit's OpenID Connect discovery and
JWKS, served by the live server and fetched by Patchbay over HTTP, and
``manage.py demo_id_token`` signing RS256 id_tokens with its key (README walkthrough)."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import jwt
import pytest
import requests
from django.core.cache import cache
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from organisations import idp as idp_keys


@pytest.fixture
def demo_idp(live_server: Any, settings: Any) -> Iterator[str]:
    settings.PATCHBAY_PUBLIC_URL = live_server.url
    settings.PATCHBAY_IDP_ISSUER = f"{live_server.url}/demo/provider"
    settings.PATCHBAY_IDP_AUDIENCE = "patchbay"
    cache.clear()
    idp_keys.forget()
    yield settings.PATCHBAY_IDP_ISSUER
    idp_keys.forget()


def _token(*args: str) -> str:
    out = StringIO()
    call_command("demo_id_token", *args, stdout=out)
    return out.getvalue().strip()


def test_the_demo_providers_discovery_names_its_issuer_and_jwks(demo_idp):
    discovery = requests.get(f"{demo_idp}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == demo_idp
    keys = requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]
    assert [k["alg"] for k in keys] == ["RS256"]
    assert "d" not in keys[0]


def test_a_demo_id_token_works_on_its_organisations_paths(demo_idp, alice, charlie):
    token = _token("--organisation", alice.org_id)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get(alice.url("connectors"))
    assert response.status_code == 200, response.content
    assert client.get(charlie.url("connectors")).status_code == 404
    client.credentials(HTTP_AUTHORIZATION="Bearer eyJhbGciOiJub25lIn0.e30.")  # README step 8
    refused = client.get(alice.url("connectors"))
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token")


def test_a_token_signed_by_another_key_with_the_demo_kid_is_refused(demo_idp, alice):
    from cryptography.hazmat.primitives.asymmetric import rsa

    real = _token("--organisation", alice.org_id)
    claims = jwt.decode(real, options={"verify_signature": False})
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forger, algorithm="RS256", headers=jwt.get_unverified_header(real))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = client.get(alice.url("connectors"))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_demo_id_token_refuses_an_unknown_organisation(db):
    with pytest.raises(CommandError, match="No organisation"):
        _token("--organisation", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(CommandError, match=r"run `manage\.py demo` first"):
        _token()
