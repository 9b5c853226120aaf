"""``/``: a small landing page, in the project's look, instead of a bare 404."""

from __future__ import annotations

import os
import re
import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from connectors.models import Connector
from credentials.models import Credential
from embed.models import Hub
from organisations.models import Organisation

pytestmark = pytest.mark.django_db

KEY_LINE = re.compile(r"^  KEY +(pb_\S+)", re.MULTILINE)


def load_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_it_says_what_this_server_is_and_links_the_docs_and_the_admin(client, settings):
    settings.PATCHBAY_DEMO = False
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert '<meta name="referrer" content="no-referrer">' in html  # templates/base.html
    assert "<h1>Patchbay</h1>" in html
    for link in ('href="/api/docs/"', 'href="/admin/"', 'href="/api/schema/?format=json"'):
        assert link in html
    assert "The demo" not in html


def test_in_demo_mode_it_shows_the_walkthrough_values_but_never_the_key(client):
    key = KEY_LINE.search(load_demo())
    assert key
    html = client.get("/").content.decode()
    organisation = Organisation.objects.get(name="Demo Org")
    credential = Credential.objects.get(organisation=organisation)
    for name, value in {
        "PB": "http://127.0.0.1:8000",
        "ORG": organisation.pk,
        "CONNECTOR": Connector.objects.get(name="Demo Provider").pk,
        "CLIENT": credential.pk,
        "CLIENT_ID": credential.data["clientId"],
        "HUB": Hub.objects.get().pk,
    }.items():
        assert re.search(rf"<dt>{name}</dt>\s*<dd><code>{re.escape(str(value))}</code>", html)
    assert re.search(r"<dt>KEY</dt>\s*<dd>printed by <code>make run</code>, kept in", html)
    assert key.group(1) not in html
    assert "pb_" not in html
    assert f'href="{Hub.objects.get().allowed_origins[0]}/"' in html
    assert "demo / demo-password" in html


def test_in_demo_mode_before_the_demo_is_loaded_it_says_how_to_load_it(client):
    html = client.get("/").content.decode()
    assert "The demo is not loaded yet" in html


def test_it_answers_only_safe_methods(client):
    assert client.post("/").status_code == 405


# --- In a real browser ----------------------------------------------------------------------

SHOTS = Path(os.environ.get("PATCHBAY_SCREENSHOTS") or "")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("size", "viewport"),
    [("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 375, "height": 740})],
)
def test_it_reads_well_in_chromium_at_desktop_and_phone_size(
    live_server: Any, tmp_path: Path, size: str, viewport: Any
) -> None:
    executable = shutil.which("chromium")
    if executable is None:
        message = "the browser tests need Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    load_demo()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page = browser.new_page(viewport=viewport)
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                failed: list[str] = []
                page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
                response = page.goto(f"{live_server.url}/")
                assert response is not None
                assert response.status == 200
                assert page.title() == "Patchbay"
                assert page.get_by_role("heading", name="Patchbay", level=1).is_visible()
                docs = page.get_by_role("link", name="API documentation")
                assert docs.get_attribute("href") == "/api/docs/"
                assert page.get_by_role("link", name="Admin").is_visible()
                assert page.get_by_role("heading", name="The demo").is_visible()
                # Nothing wider than the screen: the long ids wrap instead.
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow == 0
                shot = (SHOTS if SHOTS.parts else tmp_path) / f"landing-{size}.png"
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=True)
                # Nothing the page asks for fails (the browser's own /favicon.ico guess, which
                # is not one of the page's requests, may: it logs "Failed to load resource").
                assert failed == []
                assert [e for e in errors if not e.startswith("Failed to load resource")] == []
            finally:
                browser.close()
