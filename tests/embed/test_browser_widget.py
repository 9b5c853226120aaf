"""The connect widget in a real browser (headless Chromium driven by Playwright).

Patchbay is the pytest live server (``http://localhost:<port>``). The company's site is
a tiny HTTP server on another origin, ``http://127.0.0.1:<port2>``, whose page includes
``connect.js`` and hands it a connect session token minted through the API, exactly as a
company's page would. ``http://localhost:<port2>`` (same server, another origin) plays
the stranger.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from connections.models import Connection
from embed.models import Hub
from tests.connections import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


# --- The company's site ------------------------------------------------------------------


@dataclass
class Site:
    """Serves whatever HTML a test registers, by path, on 127.0.0.1 and localhost alike."""

    port: int
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stranger(self) -> str:
        return f"http://localhost:{self.port}"


@pytest.fixture
def site() -> Iterator[Site]:
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            html = pages.get(self.path.split("?")[0])
            body = (html or "not found").encode()
            self.send_response(200 if html is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(port=server.server_address[1], pages=pages)
    finally:
        server.shutdown()
        server.server_close()


def host_page(patchbay: str, hub_id: str, token: str) -> str:
    """What a company pastes, plus a record of everything the page hears."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host</title></head>
<body>
<h1>Acme settings</h1>
<div id="connect"></div>
<script>
  window.heard = [];      // every message event the host page receives
  window.events = [];     // what the widget's callbacks report
  window.addEventListener("message", function (e) {{
    window.heard.push({{origin: e.origin, data: e.data}});
  }});
</script>
<script src="{patchbay}/embed/{hub_id}/connect.js"></script>
<script>
  window.widget = Patchbay.connect({{
    container: "#connect",
    token: {json.dumps(token)},
    onConnected: function (e) {{ window.events.push(e); }},
    onError: function (e) {{ window.events.push(e); }},
  }});
</script>
</body></html>"""


# --- The browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        message = "the browser tests need Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):  # .ci/run installs it: a missing browser is a broken CI
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # (fixtures, assertions) are still plain synchronous code.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def patchbay(live_server: Any, settings: Any) -> str:
    settings.PATCHBAY_PUBLIC_URL = live_server.url
    return str(live_server.url)


@pytest.fixture
def framed_hub(hub: Any, site: Site) -> Any:
    """Alice's hub (``tests/embed/conftest.py``), framable by the test's site only."""
    Hub.objects.filter(pk=hub.hub.pk).update(allowed_origins=[site.origin])
    return hub


def embed_requests(page: Any) -> list[Any]:
    """Every request any frame of ``page`` makes to the embed API, recorded as it happens."""
    seen: list[Any] = []
    page.on("request", lambda r: seen.append(r) if "/api/v2/embed/" in r.url else None)
    return seen


def wait_for_event(page: Any, kind: str) -> dict[str, Any]:
    page.wait_for_function(
        "kind => window.events.some(e => e.type === kind)", arg=kind, timeout=TIMEOUT_MS
    )
    events = page.evaluate("window.events")
    return next(e for e in events if e["type"] == kind)


def org_connection(hub: Any, connection_id: str) -> dict[str, Any]:
    response = hub.owner.client.get(hub.owner.url(f"connections/{connection_id}"))
    assert response.status_code == 200, response.content
    return dict(response.json())


def open_oauth_popup(page: Any, panel: Any, hub: Any) -> Any:
    """Click the panel's Connect button of ``hub``'s oauth2 connector: the popup."""
    with page.expect_popup() as opened:
        panel.locator(f"#connector-{hub.oauth2.pk}").get_by_role("button", name="Connect").click()
    return opened.value


def sign_in(window: Any, provider: Any) -> None:
    """Sign in at the demo provider's page in ``window``."""
    window.get_by_label("Username").fill(provider.username)
    window.get_by_label("Password").fill(provider.password)
    window.get_by_role("button", name="Sign in").click()


# --- OAuth 2.0 in a popup --------------------------------------------------------------------


def test_it_connects_through_the_real_provider_in_a_popup(
    page, site, patchbay, provider, framed_hub
):
    # A second oauth2 config the widget cannot use (no client): the panel must name the
    # config it offers, or initialise cannot tell which of the two is meant.
    f.oauth2_config(framed_hub.oauth2, config_id="sandbox")
    token = framed_hub.mint()
    site.pages["/"] = host_page(patchbay, framed_hub.id, token)
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    connect = panel.locator(f"#connector-{framed_hub.oauth2.pk}").get_by_role(
        "button", name="Connect"
    )

    with page.expect_popup() as opened:
        connect.click()
    popup = opened.value
    # The popup opens on Patchbay's start page, which binds this browser, then goes on.
    assert popup.url == f"{patchbay}/embed/flow/start" or popup.url.startswith(provider.base_url)
    # The provider's own pages, in the popup: sign in, then consent.
    sign_in(popup, provider)
    with popup.expect_event("close", timeout=TIMEOUT_MS):  # severed opener or not
        popup.get_by_role("button", name="Authorize").click()

    connected = wait_for_event(page, "patchbay:connected")
    heard = page.evaluate("window.heard")
    message = next(m for m in heard if m["data"].get("type") == "patchbay:connected")
    assert message["origin"] == patchbay
    assert message["data"] == {
        "type": "patchbay:connected",
        "connectionId": connected["connectionId"],
    }

    connection = org_connection(framed_hub, connected["connectionId"])
    assert [c["credential"]["type"] for c in connection["credentials"]] == ["oauth2-token"]
    assert connection["credentials"][0]["authSchemeConfig"]["id"] == "oauth2"
    assert connection["endUser"]["externalId"] == "user-1"
    assert connection["systemId"] == str(framed_hub.oauth2.pk)
    # The panel lists it, and says so to screen readers.
    panel.locator(f"#connection-{connected['connectionId']}").wait_for()
    assert "Connected" in panel.locator("#status").inner_text()


# Stands in for a popup blocker, in the panel only: the host page keeps its own window.open.
BLOCK_POPUPS_IN_PANEL = """(() => {
  const panel = %s;
  if (location.href !== panel || window.parent === window) return;
  window.blockedOpens = 0;
  window.open = function () { window.blockedOpens += 1; return null; };
})();"""


def test_a_blocked_popup_falls_back_to_a_link_that_still_connects(
    page, site, patchbay, provider, framed_hub
):
    from connections.models import AuthorisationRequest

    token = framed_hub.mint()
    site.pages["/"] = host_page(patchbay, framed_hub.id, token)
    panel_url = f"{patchbay}/embed/{framed_hub.id}/"
    page.context.add_init_script(script=BLOCK_POPUPS_IN_PANEL % json.dumps(panel_url))
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    name = framed_hub.oauth2.name
    panel.locator(f"#connector-{framed_hub.oauth2.pk}").get_by_role(
        "button", name="Connect"
    ).click()

    link = panel.locator("#status").get_by_role("link", name=f"Continue to {name}")
    link.wait_for()
    # The blocker hit the panel's window.open (once), and no window opened.
    panel_frame = next(f for f in page.frames if f.url == panel_url)
    assert panel_frame.evaluate("window.blockedOpens") == 1
    assert page.evaluate("window.open.toString()").endswith("{ [native code] }")
    assert page.context.pages == [page]
    assert "Your browser blocked the window." in panel.locator("#status").inner_text()
    assert link.evaluate("e => e === document.activeElement")
    # A named target (not _blank) keeps the panel as the tab's opener for the hand-over.
    assert link.get_attribute("target") == "patchbay_oauth"
    # The link is Patchbay's start page: neither the state nor any secret is in it.
    assert link.get_attribute("href") == f"{patchbay}/embed/flow/start"
    pending = AuthorisationRequest.objects.get()
    assert pending.used_at is None
    assert pending.browser_binding_hash == ""
    assert token not in page.url

    with page.context.expect_page() as opened:
        link.click()  # a fresh click: blockers let a link's new tab through
    tab = opened.value
    assert token not in tab.url
    tab.get_by_label("Username").wait_for()  # bound, then on to the provider
    assert tab.url.startswith(f"{provider.base_url}/demo/provider/")
    pending.refresh_from_db()
    assert pending.browser_binding_hash != ""
    sign_in(tab, provider)
    # The callback page closes the flow's tab too (it has no opener to tell).
    with tab.expect_event("close", timeout=TIMEOUT_MS):
        tab.get_by_role("button", name="Authorize").click()

    # The tab has no opener to tell the panel: the panel learns it by polling.
    connected = wait_for_event(page, "patchbay:connected")
    heard = page.evaluate("window.heard")
    message = next(m for m in heard if m["data"].get("type") == "patchbay:connected")
    assert message["origin"] == patchbay
    assert message["data"] == {
        "type": "patchbay:connected",
        "connectionId": connected["connectionId"],
    }
    assert connected["connectionId"]
    assert token not in page.url

    connection = org_connection(framed_hub, connected["connectionId"])
    assert [c["credential"]["type"] for c in connection["credentials"]] == ["oauth2-token"]
    assert connection["endUser"]["externalId"] == "user-1"
    assert connection["systemId"] == str(framed_hub.oauth2.pk)
    pending.refresh_from_db()
    assert pending.used_at is not None
    panel.locator(f"#connection-{connected['connectionId']}").wait_for()
    assert f"Connected {name}." in panel.locator("#status").inner_text()


def test_the_callback_page_tells_the_panel_and_closes_the_popup(
    page, site, patchbay, provider, framed_hub
):
    """With ``window.opener`` intact (a provider whose pages do not cut it), the outcome
    arrives by postMessage from the callback page, which then closes itself."""
    token = framed_hub.mint()
    site.pages["/"] = host_page(patchbay, framed_hub.id, token)

    def consent_elsewhere(route: Any) -> None:
        # Stand in for the provider's pages (Patchbay's demo provider sends COOP, which
        # would cut the opener): consent over HTTP, redirect the popup to the callback.
        route.fulfill(status=302, headers={"Location": provider.consent(route.request.url)})

    page.context.route(f"{provider.authorize_url}**", consent_elsewhere)
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    connect = panel.locator(f"#connector-{framed_hub.oauth2.pk}").get_by_role(
        "button", name="Connect"
    )
    with page.expect_popup() as opened:
        connect.click()
    popup = opened.value
    popup.wait_for_event("close", timeout=TIMEOUT_MS)  # only the callback's script closes it

    connected = wait_for_event(page, "patchbay:connected")
    connection = Connection.objects.get(pk=connected["connectionId"])
    assert connection.end_user is not None
    assert connection.end_user.external_id == "user-1"


def test_a_popup_closed_before_finishing_is_noticed_and_the_flow_can_start_again(
    page, site, patchbay, provider, framed_hub
):
    token = framed_hub.mint()
    site.pages["/"] = host_page(patchbay, framed_hub.id, token)
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    item = panel.locator(f"#connector-{framed_hub.oauth2.pk}")
    with page.expect_popup() as opened:
        item.get_by_role("button", name="Connect").click()
    popup = opened.value
    popup.get_by_label("Username").wait_for()  # at the provider's sign-in page
    popup.close()  # the end user gives up
    # Noticed within 2 s: the panel no longer only says "Finish connecting…".
    again = panel.get_by_role("button", name="start again")
    again.wait_for(timeout=2_000 + 500)  # 500 ms: one look of the panel's watch
    assert "If you closed its window" in panel.locator("#status").inner_text()
    if os.environ.get("PATCHBAY_SCREENSHOTS"):  # for a person to look at
        page.screenshot(path=os.path.join(os.environ["PATCHBAY_SCREENSHOTS"], "restart.png"))
    with page.expect_popup() as reopened:
        again.click()
    second = reopened.value
    sign_in(second, provider)
    with second.expect_event("close", timeout=TIMEOUT_MS):
        second.get_by_role("button", name="Authorize").click()
    connected = wait_for_event(page, "patchbay:connected")
    assert Connection.objects.filter(pk=connected["connectionId"]).count() == 1
    assert Connection.objects.count() == 1  # the abandoned flow made nothing


def test_a_provider_url_finished_in_another_browser_is_refused(
    chromium, page, site, patchbay, provider, framed_hub
):
    """Consent hand-over: the end user copies the provider URL out of the popup and has
    someone else consent with it. That browser never passed the start page: refused."""
    from connections.models import AuthorisationRequest

    site.pages["/"] = host_page(patchbay, framed_hub.id, framed_hub.mint())
    authorize_urls: list[str] = []
    page.context.on(
        "request",
        lambda r: authorize_urls.append(r.url) if r.url.startswith(provider.authorize_url) else 0,
    )
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    popup = open_oauth_popup(page, panel, framed_hub)
    popup.get_by_label("Username").wait_for()  # the start page handed over: at the provider
    assert popup.url.startswith(f"{provider.base_url}/demo/provider/")
    (handed_over,) = authorize_urls

    other = chromium.new_context()  # another person's browser
    try:
        victim = other.new_page()
        victim.goto(handed_over)
        sign_in(victim, provider)
        victim.get_by_role("button", name="Authorize").click()
        victim.wait_for_url(f"{patchbay}/connections/oauth2/callback?**")
        assert "started in another browser" in victim.locator("body").inner_text()
    finally:
        other.close()
    assert not Connection.objects.exists()
    pending = AuthorisationRequest.objects.get()
    assert pending.used_at is None  # still the starter's, in the starter's browser
    assert pending.status == "pending"


def test_the_start_page_takes_no_secret_from_a_page_of_another_origin(
    page, site, patchbay, framed_hub
):
    """A page elsewhere that got hold of a flow's secret (the starter's own, say) opens
    Patchbay's start page and posts it, or posts to the bind endpoint itself: refused."""
    from connections.models import AuthorisationRequest
    from tests.embed.conftest import embed_client, initialise_body

    session = embed_client(framed_hub.mint())
    answer = session.post(
        framed_hub.url(f"connector/{framed_hub.oauth2.pk}/oauth2/initialise"),
        initialise_body(framed_hub),
        format="json",
    ).json()
    flow = {
        "type": "patchbay:flow-start",
        "authorisationId": answer["authorisationId"],
        "secret": answer["browserSecret"],
        "url": answer["url"],
    }
    site.pages["/lure"] = "<!doctype html><title>Lure</title><p>Win a prize</p>"
    page.goto(f"{site.stranger}/lure")
    with page.expect_popup() as opened:
        page.evaluate(
            "url => { window.start = window.open(url, 'x'); }", f"{patchbay}/embed/flow/start"
        )
    start = opened.value
    start.wait_for_load_state()
    page.evaluate("flow => window.start.postMessage(flow, '*')", flow)
    bind_status = page.evaluate(
        """async ([url, body]) => {
            try {
                const r = await fetch(url, {method: "POST", credentials: "include",
                    headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
                return r.status;
            } catch (e) { return "blocked"; }
        }""",
        [
            f"{patchbay}/embed/flow/bind",
            {"authorisationId": flow["authorisationId"], "secret": flow["secret"]},
        ],
    )
    start.wait_for_timeout(1_500)  # time enough for the start page to act, had it accepted
    assert start.url == f"{patchbay}/embed/flow/start"  # it never went on to the provider
    assert bind_status in (403, "blocked")  # CORS hides the answer; the server refused it
    pending = AuthorisationRequest.objects.get(pk=answer["authorisationId"])
    assert pending.browser_binding_hash == ""
    assert start.context.cookies(patchbay) == []


def test_a_cancelled_consent_is_reported_to_the_host(page, site, patchbay, provider, framed_hub):
    token = framed_hub.mint()
    site.pages["/"] = host_page(patchbay, framed_hub.id, token)
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    popup = open_oauth_popup(page, panel, framed_hub)
    sign_in(popup, provider)
    popup.get_by_role("button", name="Cancel").click()

    error = wait_for_event(page, "patchbay:error")
    assert error["error"] == "access_denied"
    assert "cancelled" in panel.locator("#status").inner_text()
    assert not Connection.objects.exists()


# --- Forms ---------------------------------------------------------------------------------


def test_the_api_key_form_creates_a_connection(page, site, patchbay, framed_hub):
    token = framed_hub.mint()
    site.pages["/"] = host_page(patchbay, framed_hub.id, token)
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    item = panel.locator(f"#connector-{framed_hub.api_key.pk}")
    item.get_by_role("button", name="Connect").click()
    key_input = item.get_by_label(f"{framed_hub.api_key.name} API key")
    assert key_input.evaluate("e => e === document.activeElement")  # focus moved to the form
    assert key_input.get_attribute("type") == "password"
    key_input.press("Escape")  # closes the form, focus back on its button
    assert item.locator("form").count() == 0
    opener = item.get_by_role("button", name="Connect")
    assert opener.evaluate("e => e === document.activeElement")
    opener.press("Enter")  # the keyboard opens it again
    key_input.wait_for()
    key_input.fill("sk-live-widget-secret-123")
    item.locator("form").get_by_role("button", name="Connect").click()

    connected = wait_for_event(page, "patchbay:connected")
    connection = org_connection(framed_hub, connected["connectionId"])
    assert connection["systemId"] == str(framed_hub.api_key.pk)
    assert connection["endUser"]["externalId"] == "user-1"
    assert "sk-live-widget-secret-123" not in json.dumps(connection)
    stored = Connection.objects.get(pk=connected["connectionId"]).connection_credentials.get()
    assert stored.credential.data == {"value": "sk-live-widget-secret-123"}
    listed = panel.locator(f"#connection-{connected['connectionId']}")
    listed.wait_for()
    assert listed.evaluate("e => e === document.activeElement")


def test_the_basic_auth_form_reconnects_and_the_panel_disconnects(page, site, patchbay, framed_hub):
    token = framed_hub.mint()
    site.pages["/"] = host_page(patchbay, framed_hub.id, token)
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    item = panel.locator(f"#connector-{framed_hub.basic_auth.pk}")
    item.get_by_role("button", name="Connect").click()
    item.get_by_label("Username").fill("ann")
    item.get_by_label("Password").fill("first-password")
    item.get_by_label("Password").press("Enter")
    connection_id = wait_for_event(page, "patchbay:connected")["connectionId"]

    listed = panel.locator(f"#connection-{connection_id}")
    listed.get_by_role("button", name="Reconnect").click()
    listed.get_by_label("Username").fill("ann")
    listed.get_by_label("Password").fill("second-password")
    listed.get_by_role("button", name="Save").click()
    page.wait_for_function(
        "window.events.filter(e => e.type === 'patchbay:connected').length === 2"
    )
    link = Connection.objects.get(pk=connection_id).connection_credentials.get()
    assert link.credential.data["password"] == "second-password"

    panel.locator(f"#connection-{connection_id}").get_by_role("button", name="Disconnect").click()
    panel.get_by_role("button", name="Yes, disconnect").click()
    panel.locator(f"#connection-{connection_id}").wait_for(state="detached")
    assert not Connection.objects.filter(pk=connection_id).exists()


def test_an_expired_session_is_reported_to_the_host(page, site, patchbay, framed_hub):
    from embed.models import ConnectSession

    token = framed_hub.mint()
    site.pages["/"] = host_page(patchbay, framed_hub.id, token)
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    panel.locator(f"#connector-{framed_hub.api_key.pk}").wait_for()
    ConnectSession.objects.update(revoked_at="2020-01-01T00:00:00Z")

    item = panel.locator(f"#connector-{framed_hub.api_key.pk}")
    item.get_by_role("button", name="Connect").click()
    item.get_by_label(f"{framed_hub.api_key.name} API key").fill("k")
    item.locator("form").get_by_role("button", name="Connect").click()
    error = wait_for_event(page, "patchbay:error")
    assert error["error"] == "session_expired"


def test_a_token_function_handing_back_a_dead_token_is_not_called_in_a_loop(
    page, site, patchbay, framed_hub
):
    from embed.models import ConnectSession

    token = framed_hub.mint()
    counting = "function () { window.mints = (window.mints || 0) + 1; return %s; }"
    site.pages["/"] = host_page(patchbay, framed_hub.id, token).replace(
        f"token: {json.dumps(token)},", f"token: {counting % json.dumps(token)},"
    )
    page.goto(f"{site.origin}/")
    panel = page.frame_locator("iframe")
    panel.locator(f"#connector-{framed_hub.api_key.pk}").wait_for()
    assert page.evaluate("window.mints") == 1
    ConnectSession.objects.update(revoked_at="2020-01-01T00:00:00Z")

    item = panel.locator(f"#connector-{framed_hub.api_key.pk}")
    item.get_by_role("button", name="Connect").click()
    item.get_by_label(f"{framed_hub.api_key.name} API key").fill("k")
    item.locator("form").get_by_role("button", name="Connect").click()
    assert wait_for_event(page, "patchbay:error")["error"] == "session_expired"
    page.wait_for_timeout(1500)
    # Asked once more for a fresh token; handed the same dead one, the widget stops there.
    assert page.evaluate("window.mints") == 2
    errors = [e["error"] for e in page.evaluate("window.events") if e["type"] == "patchbay:error"]
    assert errors == ["session_expired", "token_unavailable"]


# --- Strangers ---------------------------------------------------------------------------------


def test_a_site_not_in_allowed_origins_cannot_frame_the_panel_or_hand_it_a_token(
    page, site, patchbay, framed_hub
):
    token = framed_hub.mint()
    site.pages["/"] = host_page(patchbay, framed_hub.id, token)
    api_calls = embed_requests(page)
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if "/embed/assets/" in r.url else None)

    with (
        page.expect_event("console", lambda m: "frame-ancestors" in m.text) as refusal,
        page.expect_event("framenavigated", lambda f: f.parent_frame is not None) as navigated,
    ):
        page.goto(f"{site.stranger}/")  # localhost: not the allowed 127.0.0.1
    # Chromium refuses to show the panel, citing the hub's exact origins.
    assert f'"frame-ancestors {site.origin}"' in refusal.value.text
    frame = navigated.value
    assert not frame.url.startswith(patchbay)
    # Nothing of the panel ran: its script was never even fetched.
    assert scripts == []

    # Posting the token straight at the frame reaches nothing that could use it.
    page.evaluate(
        "token => document.querySelector('iframe').contentWindow.postMessage("
        "{type: 'patchbay:session', token: token}, '*')",
        token,
    )
    assert frame.evaluate("() => document.getElementById('patchbay-config')") is None
    assert api_calls == []
    assert page.evaluate("window.events") == []


def test_the_panel_ignores_a_token_from_a_foreign_origin(page, site, patchbay, framed_hub, alice):
    """Framed by an allowed page, the panel still takes a token only from that page: a
    stranger's frame beside it posting a (valid!) token of another end user is ignored."""
    mine = framed_hub.mint()
    strangers = framed_hub.mint(external_id="mallory", display_name="Mallory")
    panel_url = f"{patchbay}/embed/{framed_hub.id}/"
    site.pages["/"] = f"""<!doctype html><html><head><meta charset="utf-8"></head><body>
<iframe id="panel" src="{panel_url}" title="panel"></iframe>
<iframe id="stranger" src="{site.stranger}/stranger" title="stranger"></iframe>
<script>
  window.ready = false;
  window.addEventListener("message", function (e) {{
    if (e.origin === "{patchbay}" && e.data.type === "patchbay:ready") window.ready = true;
  }});
  window.handOver = function (token) {{
    document.getElementById("panel").contentWindow.postMessage(
      {{type: "patchbay:session", token: token}}, "{patchbay}");
  }};
</script></body></html>"""
    site.pages["/stranger"] = f"""<!doctype html><html><body><script>
  window.attack = function () {{
    parent.frames[0].postMessage({{type: "patchbay:session", token: {json.dumps(strangers)}}}, "*");
    return true;
  }};
</script></body></html>"""
    api_calls = embed_requests(page)
    page.goto(f"{site.origin}/")
    page.wait_for_function("window.ready === true")
    stranger = next(f for f in page.frames if f.url.endswith("/stranger"))
    stranger.wait_for_function("typeof window.attack === 'function'")
    assert stranger.evaluate("window.attack()")
    # Then the real host hands over its token: the panel must act on that one only.
    page.evaluate("token => window.handOver(token)", mine)
    page.frame_locator("#panel").locator(f"#connector-{framed_hub.api_key.pk}").wait_for()
    assert api_calls
    assert {r.headers.get("authorization") for r in api_calls} == {f"Bearer {mine}"}


def test_the_panel_takes_no_token_when_it_is_not_framed(page, patchbay, framed_hub):
    """Opened as a page of its own, the panel has no host to trust: a message, even from
    its own window, is ignored."""
    token = framed_hub.mint()
    api_calls = embed_requests(page)
    page.goto(f"{patchbay}/embed/{framed_hub.id}/")
    page.get_by_text("This panel is shown inside the site that offers it.").wait_for()
    page.evaluate(
        """token => new Promise(resolve => {
            window.addEventListener("message", () => setTimeout(resolve, 0));
            window.postMessage({type: "patchbay:session", token: token}, "*");
        })""",
        token,
    )
    assert page.locator("#connectors-section").is_hidden()
    assert api_calls == []
