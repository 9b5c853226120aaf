"""The widget's API-key form in real Chromium, with verification (SPEC §9.2): a wrong key is
refused at once and nothing is stored; the right one connects."""

from __future__ import annotations

import os
import tempfile

import pytest

from connections.models import Connection
from tests.connections.upstream import upstream_server
from tests.embed.test_browser_widget import (  # noqa: F401 (fixtures)
    chromium,
    framed_hub,
    host_page,
    page,
    patchbay,
    site,
    wait_for_event,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = os.path.join(tempfile.gettempdir(), "patchbay-widget-wrong-key.png")


def test_a_wrong_api_key_is_refused_in_the_form_and_the_right_one_connects(
    page,  # noqa: F811
    site,  # noqa: F811
    patchbay,  # noqa: F811
    framed_hub,  # noqa: F811
):
    with upstream_server() as upstream:
        connector, config = framed_hub.api_key, framed_hub.api_key_config
        connector.base_url = upstream.url + "/v1"
        connector.save()
        config.verification = {"method": "GET", "path": "/me", "expectedStatus": []}
        config.save()
        site.pages["/"] = host_page(patchbay, framed_hub.id, framed_hub.mint())
        page.goto(f"{site.origin}/")
        panel = page.frame_locator("iframe")
        item = panel.locator(f"#connector-{connector.pk}")
        item.get_by_role("button", name="Connect").click()
        key_input = item.get_by_label(f"{connector.name} API key")
        key_input.fill("wrong-browser-key-5150")
        item.locator("form").get_by_role("button", name="Connect").click()

        status = panel.locator("#status")
        expected = f"{connector.name} did not accept this API key (HTTP 401). Check it."
        status.get_by_text(expected).wait_for()
        assert key_input.get_attribute("aria-invalid") == "true"
        assert key_input.evaluate("e => e === document.activeElement")
        assert item.locator("form").count() == 1  # still open, to try again
        page.screenshot(path=SCREENSHOT, full_page=True)
        assert not Connection.objects.exists()
        assert page.evaluate("window.events") == []  # nothing connected
        assert [s[2].get("x-api-key") for s in upstream.seen] == ["wrong-browser-key-5150"]

        key_input.fill(upstream.key)
        item.locator("form").get_by_role("button", name="Connect").click()
        connected = wait_for_event(page, "patchbay:connected")
        connection = Connection.objects.get(pk=connected["connectionId"])
        assert connection.verification_valid is True
        assert connection.connection_credentials.get().credential.data == {"value": upstream.key}
