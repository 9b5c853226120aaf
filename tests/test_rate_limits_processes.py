"""A limit holds across processes: two gunicorn servers with the production settings
(``config.settings``), one database, and the limits' store shared between them — the
database cache by default, Redis with ``REDIS_URL``."""

from __future__ import annotations

import os
import secrets
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from organisations.keys import api_key_create
from organisations.models import Organisation
from tests.servers import gunicorn

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "database":
        return {}
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return {"REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": f"test-{secrets.token_hex(6)}"}


def test_a_limit_holds_across_two_server_processes(tmp_path: Path, store: dict[str, str]) -> None:
    organisation = Organisation.objects.create(name="Alice Ltd")
    key = api_key_create(organisation=organisation, name="two servers").key
    limits = {"PATCHBAY_RATE_LIMIT_PER_API_KEY": "4/min", **store}
    headers = {"Authorization": f"Bearer {key}"}
    path = f"/api/v2/o/{organisation.pk}"
    with ExitStack() as stack:
        first = stack.enter_context(gunicorn(tmp_path, limits))
        second = stack.enter_context(gunicorn(tmp_path, limits))
        answers: list[Any] = [
            requests.get(base + path, headers=headers, timeout=10)
            for base in (first, second, first, second)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 200]
        # Each server has seen two requests only: the fifth is refused by both.
        for base in (first, second):
            refused = requests.get(base + path, headers=headers, timeout=10)
            assert refused.status_code == 429, refused.text
            assert refused.json()["code"] == "too_many_requests"
            assert int(refused.headers["Retry-After"]) >= 1
