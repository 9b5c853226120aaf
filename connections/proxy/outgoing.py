"""The request being built for the upstream, which each credential's applier changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, unquote_plus, urlsplit

from connections.proxy.body import SpooledBody
from core.client_tls import ClientCertificate


@dataclass
class Outgoing:
    """One attempt's request to the upstream. ``query`` is the caller's raw query string;
    appliers add parameters to ``added_query`` (a caller's parameter of the same name is
    dropped, so a caller cannot send a key of its own beside the connection's), cookies to
    ``cookies`` and headers to ``headers``. ``repr`` shows no header or parameter value."""

    method: str
    url: str  # the target without query: base URL joined with the path
    query: str
    headers: dict[str, str] = field(repr=False)
    body: SpooledBody = field(repr=False)
    added_query: list[tuple[str, str]] = field(default_factory=list, repr=False)
    cookies: list[tuple[str, str]] = field(default_factory=list, repr=False)
    dropped: set[str] = field(default_factory=set)  # caller's query names not passed on
    # The TLS client identity of the call (a `certificate` credential): mTLS.
    client_certificate: ClientCertificate | None = field(default=None, repr=False)

    def set_header(self, name: str, value: str) -> None:
        for existing in [k for k in self.headers if k.lower() == name.lower()]:
            del self.headers[existing]
        self.headers[name] = value

    def add_query(self, name: str, value: str) -> None:
        self.added_query = [(k, v) for k, v in self.added_query if k != name]
        self.added_query.append((name, value))

    def query_string(self) -> str:
        """The query as it will be sent: the caller's (less names an applier set), then the
        appliers' parameters, form-encoded."""
        names = {name for name, _ in self.added_query} | self.dropped
        kept = [
            part for part in self.query.split("&") if part and _unquoted_name(part) not in names
        ]
        added = [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self.added_query]
        return "&".join(kept + added)

    def full_url(self) -> str:
        query = self.query_string()
        base_query = urlsplit(self.url).query
        if not query:
            return self.url
        return f"{self.url}{'&' if base_query else '?'}{query}"

    def final_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies)
        return headers


def _unquoted_name(part: str) -> str:
    return unquote_plus(part.split("=", 1)[0])
