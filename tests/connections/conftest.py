from __future__ import annotations

import json as jsonlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

import core.outbound


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any outbound call fails the test: for paths where the provider must not be called."""

    def refuse(adapter: Any, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        pytest.fail(f"unexpected outbound call to {request.url}")

    monkeypatch.setattr(core.outbound, "transport", refuse)


@dataclass
class FakeTokenEndpoint:
    """Answers token requests at the outbound seam; records what was sent."""

    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    raises: Exception | None = None
    headers: dict[str, str] = field(default_factory=dict)
    sent: list[requests.PreparedRequest] = field(default_factory=list)
    # What the adapter passed down with each request (verify, cert, timeout).
    options: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
        self.status, self.body, self.content_type = status, body, content_type

    def __call__(
        self, adapter: Any, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        self.sent.append(request)
        self.options.append(kwargs)
        if self.raises is not None:
            raise self.raises
        response = requests.Response()
        response.status_code = self.status
        raw = self.body if isinstance(self.body, str | bytes) else jsonlib.dumps(self.body)
        response._content = raw.encode() if isinstance(raw, str) else raw
        response.headers = CaseInsensitiveDict({"Content-Type": self.content_type, **self.headers})
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response


@pytest.fixture
def token_endpoint(monkeypatch: pytest.MonkeyPatch) -> FakeTokenEndpoint:
    fake = FakeTokenEndpoint(
        body={
            "access_token": "fake-access-token-123",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "fake-refresh-token-456",
            "scope": "read offline_access",
        }
    )
    monkeypatch.setattr(core.outbound, "transport", fake)
    return fake


Answer = Callable[..., None]
