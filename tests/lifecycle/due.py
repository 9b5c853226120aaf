"""Due tokens for the worker's tests, and a token endpoint at the seam that counts what it
is asked."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from datetime import timedelta

import requests
from django.utils import timezone
from requests.structures import CaseInsensitiveDict

from tests.connections import factories as f


class CountingProvider:
    """A token endpoint at the seam that issues numbered tokens and counts each refresh token
    it sees (thread-safe): a refresh token seen twice means a job was done twice."""

    def __init__(self, status: int = 200, error: str | None = None, delay: float = 0.0) -> None:
        self.status, self.error, self.delay = status, error, delay
        self.seen: list[str] = []
        self.lock = threading.Lock()
        self.numbers = itertools.count(1)

    def __call__(self, adapter, request, **kwargs):
        form = dict(pair.split("=", 1) for pair in (request.body or "").split("&") if "=" in pair)
        with self.lock:
            self.seen.append(form.get("refresh_token", ""))
            n = next(self.numbers)
        if self.delay:
            threading.Event().wait(self.delay)
        body: dict[str, object] = (
            {"error": self.error}
            if self.error or self.status != 200
            else {"access_token": f"w-at-{n}", "refresh_token": f"w-rt-{n}", "expires_in": 3600}
        )
        response = requests.Response()
        response.status_code = self.status
        response._content = json.dumps(body).encode()
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.request = request
        return response


def due_connections(organisation, n: int, *, seconds_left: int = -5, **config):
    client = f.client_credential(organisation)
    connector, oauth2 = f.oauth2_connector(
        organisation,
        name=f"Due {secrets.token_hex(4)}",
        refreshMarginSeconds=60,
        grant={"type": "authorizationCode", "authorizationCode": {"credentialId": str(client.pk)}},
        **config,
    )
    expires = (timezone.now() + timedelta(seconds=seconds_left)).isoformat()
    made = []
    for i in range(n):
        token = f.token_credential(organisation, expiresAt=expires, refreshToken=f"rt-{i}")
        made.append(f.connection(organisation, connector, name=f"c{i}", links=[(oauth2, token)]))
    return made
