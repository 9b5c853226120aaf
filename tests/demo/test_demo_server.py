"""The demo exactly as ``make run`` serves it (its own settings, SQLite, a real runserver)."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from tests.conftest import Provider
from tests.demo.server import DemoEnv, free_port

TOKEN_SECONDS = 3


def printed(output: str, name: str) -> str:
    """The value ``manage.py demo`` prints for a walkthrough variable (``  NAME  value``)."""
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == name:
            return parts[1]
    raise AssertionError(f"{name} is not printed:\n{output}")


def test_the_walkthrough_on_sqlite_refresh_proxy_and_verify(tmp_path: Path) -> None:
    demo = DemoEnv(tmp_path, free_port(), {"PATCHBAY_DEMO_TOKEN_SECONDS": str(TOKEN_SECONDS)})
    migrate = demo.manage("migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    loaded = demo.manage("demo")
    assert loaded.returncode == 0, loaded.stderr
    out = loaded.stdout
    key, org = printed(out, "KEY"), printed(out, "ORG")
    connector, client = printed(out, "CONNECTOR"), printed(out, "CLIENT")
    client_id = printed(out, "CLIENT_ID")
    api = f"{demo.url}/api/v2/o/{org}"
    auth = {"Authorization": f"Bearer {key}"}

    with demo.runserver():
        started = requests.post(
            f"{api}/connectors/{connector}/oauth2/initialise",
            headers=auth,
            json={
                "authorizeUrl": f"{demo.url}/demo/provider/authorize/",
                "clientId": client_id,
                "credential": {"id": client, "organisationId": org},
            },
            timeout=10,
        )
        assert started.status_code == 200, started.text
        person = Provider(
            base_url=demo.url,
            client_id=client_id,
            client_secret="",
            username="demo",
            password="demo-password",
            application=None,
        )
        callback = requests.get(person.consent(started.json()["url"]), timeout=30)
        assert callback.status_code == 200, callback.text
        assert "Connected" in callback.text
        connections = requests.get(f"{api}/connections", headers=auth, timeout=10).json()
        (connection,) = connections["items"]
        url = f"{api}/connections/{connection['id']}/access-token"
        first = requests.get(url, headers=auth, timeout=30)
        assert first.status_code == 200, first.text + demo.log()

        time.sleep(TOKEN_SECONDS + 1)  # the provider's token has expired for real
        assert person.me(first.json()["accessToken"]).status_code in (401, 403)

        renewed = requests.get(url, headers=auth, timeout=30)
        assert renewed.status_code == 200, renewed.text + demo.log()
        token = renewed.json()["accessToken"]
        assert token != first.json()["accessToken"]
        me = person.me(token)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "demo"

        # Walkthrough step 6: the proxy puts the connection's token on for the caller.
        base = f"{api}/connections/{connection['id']}"
        proxied = requests.get(f"{base}/proxy/me", headers=auth, timeout=30)
        assert proxied.status_code == 200, proxied.text + demo.log()
        assert proxied.headers["Patchbay-Proxy"] == "upstream"
        assert proxied.json()["username"] == "demo"
        # Step 7: the demo config's verification (GET /me) through the same path.
        verified = requests.post(f"{base}/verify", headers=auth, timeout=30)
        assert verified.status_code == 200, verified.text + demo.log()
        assert verified.json()["valid"] is True
        assert verified.json()["status"] == 200
        assert key not in demo.log()
        assert token not in demo.log()
