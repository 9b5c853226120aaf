"""The site-wide Content-Security-Policy in a real browser: the admin and the API docs
(Swagger UI) work under it with no violation at all (item 24 of issue 18)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from tests.admin.conftest import World
from tests.embed.test_browser_widget import TIMEOUT_MS, chromium  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[tuple[Any, list[str]]]:  # noqa: F811
    """A page, and every console error and failed script of it: a CSP refusal shows up in
    Chromium's console ("Refused to ...") as well as in the page's violation events."""
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location.get('url')}")
            # The browser's own favicon probe (Patchbay serves none) is not the page's doing.
            if m.type in ("error", "warning")
            and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    yield page, problems
    context.close()


def violations(page: Any) -> list[str]:
    return list(page.evaluate("window.violations"))


def sign_in(page: Any, base: str, django_user_model: Any) -> None:
    django_user_model.objects.create_superuser("olga", "olga@example.com", "olga-password-1")
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("olga-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/admin/")


def test_the_admin_change_pages_run_under_the_policy(
    browser_page: tuple[Any, list[str]], live_server: Any, world: World, django_user_model: Any
) -> None:
    page, problems = browser_page
    sign_in(page, live_server.url, django_user_model)
    credential = world.credentials["string"]
    response = page.goto(
        live_server.url + reverse("admin:credentials_credential_change", args=[credential.pk])
    )
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    # The admin's own scripts ran: the date-time widget drew its "Now" shortcut.
    page.get_by_role("link", name="Now").first.wait_for()
    for name, obj in [
        ("connectors_connector", world.connector),
        ("connections_connection", world.connection),
        ("organisations_organisation", world.organisation),
    ]:
        page.goto(live_server.url + reverse(f"admin:{name}_change", args=[obj.pk]))
        page.locator("#content").wait_for()
        page.wait_for_load_state("networkidle")
    page.goto(live_server.url + reverse("admin:credentials_credential_changelist"))
    page.wait_for_load_state("networkidle")
    # The changelist's select-all box is the admin's actions.js at work.
    page.locator("#action-toggle").check()
    assert page.locator("input.action-select").first.is_checked()
    assert violations(page) == []
    assert problems == []


def test_the_api_docs_run_under_the_policy(
    browser_page: tuple[Any, list[str]], live_server: Any
) -> None:
    page, problems = browser_page
    response = page.goto(f"{live_server.url}/api/docs/")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    # Swagger UI loaded the document (connect-src) and drew the operations.
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 20
    page.locator(".opblock-summary").first.click()
    page.get_by_role("button", name="Try it out").first.wait_for()
    assert violations(page) == []
    assert problems == []
