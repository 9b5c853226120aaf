"""The widget's server side: the panel page, connect.js and the panel's script (no browser)."""

from __future__ import annotations

import gzip
import json
import re
import uuid

import pytest
from django.template.loader import render_to_string
from django.test import Client

from embed import widget_views
from embed.models import Hub

HOST = "https://app.example.com"
OTHER_HOST = "https://shop.example.org"


@pytest.fixture
def panel_hub(alice) -> Hub:
    return Hub.objects.create(
        organisation=alice.organisation,
        name="Alice hub",
        allowed_origins=[HOST, OTHER_HOST],
        branding_title="Connect to Alice",
        branding_logo_url="https://cdn.example.com/alice/logo.png",
        branding_accent_color="#ffcc00",
    )


@pytest.fixture
def browser() -> Client:
    return Client()


def csp(response) -> dict[str, str]:
    directives = [d.strip() for d in response["Content-Security-Policy"].split(";")]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in directives if d}


def panel_url(hub) -> str:
    return f"/embed/{hub.pk}/"


# --- The panel ----------------------------------------------------------------------------


def test_it_lets_only_the_hubs_exact_origins_frame_the_panel(browser, panel_hub):
    response = browser.get(panel_url(panel_hub))
    assert response.status_code == 200
    assert csp(response)["frame-ancestors"] == f"{HOST} {OTHER_HOST}"
    assert "X-Frame-Options" not in response


def test_it_lets_nobody_frame_a_hub_without_allowed_origins(browser, panel_hub):
    panel_hub.allowed_origins = []
    panel_hub.save()
    response = browser.get(panel_url(panel_hub))
    assert csp(response)["frame-ancestors"] == "'none'"


def test_it_leaves_out_an_origin_that_would_widen_the_policy(browser, panel_hub):
    # The hub API refuses these; the header must not trust the database blindly either.
    panel_hub.allowed_origins = [HOST, "https://*.example.com", "https://a.example; script-src *"]
    panel_hub.save()
    response = browser.get(panel_url(panel_hub))
    assert csp(response)["frame-ancestors"] == HOST
    assert csp(response)["script-src"] == "'self'"


def test_it_keeps_the_panel_to_its_own_script_and_api(browser, panel_hub):
    response = browser.get(panel_url(panel_hub))
    policy = csp(response)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["form-action"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["img-src"] == "'self' https://cdn.example.com"
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_it_puts_a_fresh_nonce_on_the_panels_only_style(browser, panel_hub):
    first = browser.get(panel_url(panel_hub))
    second = browser.get(panel_url(panel_hub))
    nonce = csp(first)["style-src"].removeprefix("'nonce-").removesuffix("'")
    assert f'<style nonce="{nonce}">' in first.content.decode()
    assert first.content.decode().count("<style") == 1
    assert csp(second)["style-src"] != csp(first)["style-src"]


def test_it_never_lets_the_panel_be_cached_or_leak_a_referrer(browser, panel_hub):
    response = browser.get(panel_url(panel_hub))
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_renders_the_hubs_origins_and_api_for_the_panels_script(browser, panel_hub):
    html = browser.get(panel_url(panel_hub)).content.decode()
    found = re.search(r'<script id="patchbay-config" type="application/json">(.*?)</script>', html)
    assert found is not None
    assert json.loads(found.group(1)) == {
        "hubId": str(panel_hub.pk),
        "api": f"/api/v2/embed/{panel_hub.pk}",
        "allowedOrigins": [HOST, OTHER_HOST],
    }
    script = widget_views.asset("panel.js")
    assert f'<script src="/embed/assets/panel.js?v={script.version}" defer></script>' in html


def test_it_shows_the_hubs_branding(browser, panel_hub):
    html = browser.get(panel_url(panel_hub)).content.decode()
    assert "<h1>Connect to Alice</h1>" in html
    assert 'src="https://cdn.example.com/alice/logo.png"' in html
    # A light accent gets dark text on it.
    assert ":root{--accent:#ffcc00;--accent-text:#111111}" in html


def test_it_falls_back_to_the_hub_name_without_a_title(browser, panel_hub):
    panel_hub.branding_title = ""
    panel_hub.save()
    assert "<h1>Alice hub</h1>" in browser.get(panel_url(panel_hub)).content.decode()


def test_it_escapes_a_hostile_title(browser, panel_hub):
    panel_hub.branding_title = '</h1><script>alert("x")</script>'
    panel_hub.save()
    html = browser.get(panel_url(panel_hub)).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


@pytest.mark.parametrize(
    "colour", ["red", "#12345g", "#fff;}body{display:none", "url(x)", "", "#12;}*{"]
)
def test_it_only_puts_a_validated_colour_into_the_css(browser, panel_hub, colour):
    # The hub API validates accentColor; the page must not trust the column blindly either.
    Hub.objects.filter(pk=panel_hub.pk).update(branding_accent_color=colour[:7])
    html = browser.get(panel_url(panel_hub)).content.decode()
    assert ":root{--accent:#2f5bd3;--accent-text:#ffffff}" in html


@pytest.mark.parametrize(
    "logo",
    [
        "http://cdn.example.com/logo.png",
        "javascript:alert(1)",
        "data:image/svg+xml,<svg/>",
        "https://cdn.example.com/a b.png",
        "//cdn.example.com/logo.png",
    ],
)
def test_it_leaves_out_a_logo_it_should_not_load(browser, panel_hub, logo):
    Hub.objects.filter(pk=panel_hub.pk).update(branding_logo_url=logo)
    response = browser.get(panel_url(panel_hub))
    assert 'class="logo"' not in response.content.decode()
    assert csp(response)["img-src"] == "'self'"


def test_it_shows_no_connectors_or_end_user_data_before_a_session(browser, panel_hub, alice):
    from connectors.models import Connector

    connector = Connector.objects.create(organisation=alice.organisation, name="Secret CRM")
    panel_hub.connectors.add(connector)
    html = browser.get(panel_url(panel_hub)).content.decode()
    assert "Secret CRM" not in html
    assert str(connector.pk) not in html


@pytest.mark.parametrize("path", ["/embed/{unknown}/", "/embed/{unknown}/connect.js"])
def test_it_answers_404_for_an_unknown_hub(browser, db, path):
    response = browser.get(path.format(unknown=uuid.uuid4()))
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/embed/not-a-uuid/", "/embed/1%27%20OR%201=1/connect.js"])
def test_it_answers_404_for_a_malformed_hub_id(browser, db, path):
    assert browser.get(path).status_code == 404


def test_it_refuses_to_post_to_the_panel(browser, panel_hub):
    assert browser.post(panel_url(panel_hub)).status_code == 405


def test_it_keeps_every_other_page_unframable(browser, db):
    for path in ("/admin/login/", "/healthz", "/connections/oauth2/callback"):
        response = browser.get(path)
        assert response["X-Frame-Options"] == "DENY", path


# --- connect.js and the panel's script ------------------------------------------------------


def test_it_serves_connect_js_as_javascript_that_loads_nothing_else(browser, panel_hub):
    response = browser.get(f"/embed/{panel_hub.pk}/connect.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = response.content.decode()
    assert not re.search(r"https?://|wss?://", body), "connect.js must not name another site"
    assert "Patchbay.connect" in body


def test_it_lets_browsers_cache_connect_js_briefly_and_revalidate(browser, panel_hub):
    response = browser.get(f"/embed/{panel_hub.pk}/connect.js")
    assert response["Cache-Control"] == "public, max-age=300, must-revalidate"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    again = browser.get(
        f"/embed/{panel_hub.pk}/connect.js", headers={"If-None-Match": response["ETag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


def test_it_serves_the_panels_script_immutable_per_version(browser, db):
    script = widget_views.asset("panel.js")
    response = browser.get(f"/embed/assets/panel.js?v={script.version}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert not re.search(r"https?://|wss?://", response.content.decode())
    stale = browser.get("/embed/assets/panel.js?v=old")
    assert stale["Cache-Control"] == "public, max-age=60, must-revalidate"


@pytest.mark.parametrize("name", ["panel.css", "connect.js", "..%2Fwidget_views.py", "x.js"])
def test_it_serves_no_other_asset(browser, db, name):
    assert browser.get(f"/embed/assets/{name}").status_code == 404


def test_it_keeps_panel_and_script_under_50_kb_as_sent_compressed(browser, panel_hub):
    """Everything a host page's visitor downloads for the widget before the API answers,
    counted as it crosses the wire to a browser (which always accepts gzip)."""
    gz = {"Accept-Encoding": "gzip, deflate, br"}
    panel = browser.get(panel_url(panel_hub), headers=gz)
    connect = browser.get(f"/embed/{panel_hub.pk}/connect.js", headers=gz)
    html = gzip.decompress(panel.content).decode()
    assets = re.findall(r'<script src="([^"]+)"', html) + re.findall(
        r'<link[^>]+href="([^"]+)"', html
    )
    assert assets, "expected the panel's script"
    responses = [panel, connect] + [browser.get(url, headers=gz) for url in assets]
    for response in responses:
        assert response.status_code == 200
        assert response["Content-Encoding"] == "gzip", response
    sent = [len(r.content) for r in responses]
    unpacked = [len(gzip.decompress(r.content)) for r in responses]
    assert sum(sent) < 50 * 1024, sent
    # Compression is what is counted: far below the files themselves.
    assert sum(sent) < sum(unpacked) / 2, (sent, unpacked)


@pytest.mark.parametrize("path", ["connect.js", "panel.js"])
def test_it_sends_the_widget_scripts_gzipped_to_clients_that_take_gzip(browser, panel_hub, path):
    script = widget_views.asset(path)
    url = (
        f"/embed/{panel_hub.pk}/connect.js"
        if path == "connect.js"
        else f"/embed/assets/panel.js?v={script.version}"
    )
    packed = browser.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed["Content-Encoding"] == "gzip"
    assert packed["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.content) == (widget_views.ASSETS / path).read_bytes()
    assert int(packed["Content-Length"]) == len(packed.content) < len(script.body) / 2
    plain = browser.get(url)  # no Accept-Encoding: the file as it is
    assert not plain.has_header("Content-Encoding")
    assert plain.content == script.body
    refused = browser.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert not refused.has_header("Content-Encoding")
    # Two representations, two ETags; either one held revalidates to 304.
    assert packed["ETag"] != plain["ETag"]
    for etag in (packed["ETag"], plain["ETag"]):
        again = browser.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again["ETag"] == packed["ETag"]
    assert packed["Cache-Control"] == (
        "public, max-age=300, must-revalidate"
        if path == "connect.js"
        else "public, max-age=31536000, immutable"
    )


def test_it_sends_the_panel_gzipped_and_never_cached(browser, panel_hub):
    packed = browser.get(panel_url(panel_hub), headers={"Accept-Encoding": "gzip"})
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert packed["Cache-Control"] == "no-store"
    html = gzip.decompress(packed.content).decode()
    assert "Connect to Alice" in html
    plain = browser.get(panel_url(panel_hub))
    assert not plain.has_header("Content-Encoding")
    assert "Connect to Alice" in plain.content.decode()


# --- The callback page's embed part -------------------------------------------------------------


def callback_html(**context) -> str:
    return render_to_string(
        "connections/callback.html",
        {"ok": True, "created": True, "connection": {"name": "CRM"}, **context},
    )


def test_the_callback_page_reports_an_embed_outcome_to_its_opener_at_patchbays_origin():
    result = {
        "type": "patchbay:oauth-result",
        "authorisationId": "a1",
        "status": "succeeded",
        "connectionId": "c1",
        "error": None,
    }
    html = callback_html(
        embed_result=result, embed_target_origin="https://patchbay.example", csp_nonce="n0nce"
    )
    found = re.search(
        r'<script id="patchbay-oauth-result" type="application/json">(.*?)</script>', html
    )
    assert found is not None
    assert json.loads(found.group(1)) == result
    assert (
        '<script id="patchbay-target-origin" type="application/json">"https://patchbay.example"</script>'
        in html
    )
    assert '<script nonce="n0nce">' in html
    assert "opener.postMessage(" in html
    assert "onclick" not in html.lower()


def test_the_callback_page_escapes_hostile_text_in_the_embed_outcome():
    result = {"type": "patchbay:oauth-result", "status": "failed", "error": "</script><script>x()"}
    html = callback_html(
        embed_result=result, embed_target_origin="https://p.example", csp_nonce="n"
    )
    assert "</script><script>x()" not in html


def test_the_callback_page_has_no_script_outside_an_embed_flow():
    assert "<script" not in callback_html()


# --- The callback page of a real embed flow --------------------------------------------------


@pytest.fixture
def embed_authorisation(hub, provider, browser):
    """An embed flow started through the embed API and bound to ``browser`` as the start
    page binds it: ``(authorisation id, authorize url)``."""
    from tests.embed.conftest import embed_client, initialise_body
    from tests.embed.test_hub_initialise import bind

    client = embed_client(hub.mint())
    response = client.post(
        hub.url(f"connector/{hub.oauth2.pk}/oauth2/initialise"), initialise_body(hub), format="json"
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert bind(browser, answer["authorisationId"], answer["browserSecret"]).status_code == 204
    return answer["authorisationId"], answer["url"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("allow", [True, False])
def test_the_callback_page_of_an_embed_flow_runs_only_its_nonced_script(
    browser, provider, embed_authorisation, allow
):
    authorisation_id, url = embed_authorisation
    location = provider.consent(url, allow=allow)
    response = browser.get(location.removeprefix(provider.base_url))
    policy = csp(response)
    nonce = policy["script-src"].removeprefix("'nonce-").removesuffix("'")
    html = response.content.decode()
    assert f'<script nonce="{nonce}">' in html
    assert html.count("<script") == 3  # two JSON data blocks and the nonce'd script
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    # The popup must keep its opener to post to the panel.
    assert response["Cross-Origin-Opener-Policy"] == "unsafe-none"
    found = re.search(
        r'<script id="patchbay-oauth-result" type="application/json">(.*?)</script>', html
    )
    assert found is not None
    result = json.loads(found.group(1))
    assert result["type"] == "patchbay:oauth-result"
    assert result["authorisationId"] == authorisation_id
    assert result["status"] == ("succeeded" if allow else "failed")
    target = f'<script id="patchbay-target-origin" type="application/json">"{provider.base_url}"'
    assert target in html


@pytest.mark.django_db(transaction=True)
def test_the_callback_page_outside_an_embed_flow_runs_nothing(browser, db):
    response = browser.get("/connections/oauth2/callback?state=unknown&code=x")
    assert "script-src" not in response["Content-Security-Policy"]
    assert "<script" not in response.content.decode()
