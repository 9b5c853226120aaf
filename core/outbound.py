"""The one seam for outbound HTTP.

Everything Patchbay sends to the outside world (token endpoints, revocation,
webhooks) goes through a :func:`session` from here, so that every call has:

* timeouts (connect and read, from settings) whatever the caller passed, and an
  absolute deadline for the whole request (a server trickling bytes is cut off):
  ``PATCHBAY_HTTP_DEADLINE``, or the shorter one a caller whose URL a tenant chose
  passes (token endpoints ``PATCHBAY_HTTP_TOKEN_DEADLINE``, webhooks
  ``PATCHBAY_HTTP_WEBHOOK_DEADLINE``);
* a cap on the response size;
* an SSRF guard: the address actually connected to is checked after the TCP
  connect (so DNS rebinding cannot sneak past a pre-check), and loopback,
  private, link-local and other non-global addresses are refused unless
  ``PATCHBAY_ALLOW_PRIVATE_NETWORKS`` is on; plain ``http://`` only to
  loopback hosts and only with ``PATCHBAY_ALLOW_INSECURE_HTTP``;
* no proxies from the environment;
* optionally a TLS client certificate (mTLS, :mod:`core.client_tls`), its CA then the
  only trust anchor, over https only;
* one exception type, :class:`OutboundError`.

Tests that need a failure a real server cannot produce replace :func:`transport`.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from core.client_tls import ClientCertificate, ClientCertificateError, client_context
from core.deadline import Deadline as _Deadline
from core.deadline import current as _current
from core.logs import INFO, WARNING, refusal

logger = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# RFC 8215's local-use translation prefix: each network embeds IPv4 addresses at a
# position of its own choosing (RFC 6052 allows /48 to /96), so no position can be
# trusted to tell where a packet would go; it is not globally reachable in any case.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
# Deprecated IPv4-compatible addresses (RFC 4291 2.5.5.1): ::a.b.c.d.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_TEREDO = ipaddress.IPv6Network("2001::/32")


# What a caller outside the operator's staff is told for any of these: one word, one
# message. Told apart, "blocked" (a private address), "connection" (refused: a closed
# port) and "timeout" (a filtered port, or an open one that speaks no HTTP) would let a
# tenant map hosts and ports through Patchbay by choosing token or webhook URLs. The
# operator sees the kind in the log (``core.logs.refusal``) and in the admin.
UNREACHABLE_KINDS = frozenset({"blocked", "connection", "timeout"})
UNREACHABLE = "unreachable"
UNREACHABLE_MESSAGE = "The remote server could not be reached."


class OutboundError(Exception):
    """An outbound call that did not produce a usable HTTP response.

    ``kind`` is one of ``timeout``, ``connection``, ``blocked``, ``too_large``, ``invalid_url``,
    ``client_certificate`` (a certificate credential that does not load): the operator's
    detail. ``public_kind`` and ``public_message`` are what API answers, stored errors and
    events carry (``unreachable`` for the first three).
    The message never contains request bodies or headers.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    @property
    def public_kind(self) -> str:
        return UNREACHABLE if self.kind in UNREACHABLE_KINDS else self.kind

    @property
    def public_message(self) -> str:
        return UNREACHABLE_MESSAGE if self.kind in UNREACHABLE_KINDS else self.message


# A blocked address, a URL Patchbay must not call or an oversized answer point at a
# misconfigured (or hostile) endpoint; a timeout or a failed connect is weather.
_WARNING_KINDS = frozenset({"blocked", "invalid_url", "too_large", "client_certificate"})


def _refused(error: OutboundError, url: str, **ids: object) -> OutboundError:
    """Log ``error`` with the host it was for (never the URL: paths and queries carry
    secrets, webhook URLs often do) and return it, to be raised."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    level = WARNING if error.kind in _WARNING_KINDS else INFO
    refusal(logger, error.kind, level=level, host=host, **ids)
    return error


class _BlockedAddress(Exception):  # deliberately not an OSError: urllib3 must not retry it
    pass


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, for the forms that reach it.

    Mapped (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), NAT64's well-known
    prefix (``64:ff9b::a.b.c.d``, which on an IPv6-only cloud reaches 169.254.169.254),
    6to4 (``2002:aabb:ccdd::``) and Teredo (``2001:0:<server>:<flags>:<port>:<client>``,
    the client's address XOR 0xffffffff in the last 32 bits). Written out rather than
    left to ``ipaddress``'s own view of these ranges, which changes between Python
    versions.
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _TEREDO:
        return ipaddress.IPv4Address((int(ip) & 0xFFFFFFFF) ^ 0xFFFFFFFF)
    return None


def _ip_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # ``is_global`` counts multicast (224.0.0.0/4, ff0e::/16) as global: it is not a host.
    return ip.is_global and not ip.is_multicast


def address_allowed(address: str) -> bool:
    if settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        # An IPv4 address carried inside an IPv6 one reaches that IPv4 address.
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            if not _ip_allowed(embedded):
                return False
            # A Teredo address reaches its client through a relay; the rest of 2001::/23
            # stays as the standard library classes it.
            if ip not in _TEREDO:
                return True
    return _ip_allowed(ip)


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """Refuse URLs Patchbay must never call (scheme, userinfo, insecure http)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1/": a malformed IPv6 host
        raise _refused(
            OutboundError("invalid_url", "The URL cannot be parsed."), url, reason="malformed"
        ) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _refused(
            OutboundError("invalid_url", "Only http(s) URLs with a host can be called."),
            url,
            reason="scheme" if parts.hostname else "no_host",
            scheme=parts.scheme[:16] or None,
        )
    if parts.username is not None or parts.password is not None:
        raise _refused(
            OutboundError("invalid_url", "URLs with user information are refused."),
            url,
            reason="userinfo",
        )
    if parts.scheme == "http" and not (
        settings.PATCHBAY_ALLOW_INSECURE_HTTP and is_loopback_host(parts.hostname)
    ):
        raise _refused(
            OutboundError(
                "invalid_url", "Plain http is only allowed to loopback hosts in development."
            ),
            url,
            reason="insecure_http",
        )


class _GuardMixin:
    def _new_conn(self) -> Any:
        sock = super()._new_conn()  # type: ignore[misc]
        peer = sock.getpeername()[0]
        if not address_allowed(peer):
            sock.close()
            raise _BlockedAddress(peer)
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        deadline: _Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(self.sock)  # type: ignore[attr-defined]  # the TLS socket for https


class _GuardedHTTPConnection(_GuardMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def transport(
    adapter: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any
) -> requests.Response:
    """Send one request over the network and read at most the configured number of bytes,
    all of it within the adapter's deadline (``PATCHBAY_HTTP_DEADLINE`` unless the caller
    asked for a shorter one).

    With ``stream=True`` (and ``deadline_seconds``) the body is left unread for
    :class:`core.outbound_stream.Streamed` to read; the deadline keeps running until it
    is closed."""
    if kwargs.pop("stream", False):
        from core.outbound_stream import transport_streamed  # it builds on this module

        return transport_streamed(adapter, request, **kwargs)
    limit = settings.PATCHBAY_HTTP_MAX_RESPONSE_BYTES
    deadline = _Deadline(getattr(adapter, "deadline", None) or settings.PATCHBAY_HTTP_DEADLINE)
    _current.deadline = deadline
    body = bytearray()
    try:
        response = HTTPAdapter.send(adapter, request, stream=True, **kwargs)
        try:
            for chunk in response.iter_content(chunk_size=16_384):
                body.extend(chunk)
                if len(body) > limit:
                    raise OutboundError("too_large", f"The response was larger than {limit} bytes.")
        finally:
            response.close()
        if deadline.fired:  # cut short by us: what arrived may look complete, and is not
            raise OutboundError("timeout", "The response took too long to arrive.")
    except OutboundError:
        raise
    except Exception as exc:
        if deadline.fired:  # our own cut, not the server's doing
            raise OutboundError("timeout", "The response took too long to arrive.") from exc
        raise
    finally:
        deadline.cancel()
        _current.deadline = None
    response._content = bytes(body)
    response._content_consumed = True  # type: ignore[attr-defined]
    return response


class GuardedAdapter(HTTPAdapter):
    def __init__(
        self,
        *args: Any,
        client_certificate: ClientCertificate | None = None,
        deadline: float | None = None,
        streaming: bool = False,
        **kw: Any,
    ):
        self.client_certificate = client_certificate
        self.deadline = deadline
        self.streaming = streaming  # stream=True then leaves the body unread
        self._client_context: ssl.SSLContext | None = None
        super().__init__(*args, **kw)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        if self._client_context is not None:
            # The context holds the trust anchors. Left set, urllib3 would load requests'
            # bundle into it, and the credential's CA would no longer be the only one.
            conn.cert_reqs, conn.ca_certs, conn.ca_cert_dir = "CERT_REQUIRED", None, None

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if self._client_context is not None:  # the pool's connections use this context
            pool_kwargs = {"ssl_context": self._client_context, "cert_reqs": "CERT_REQUIRED"}
        return host_params, pool_kwargs

    def _load_client_certificate(self, url: str) -> None:
        certificate = self.client_certificate
        if certificate is None or self._client_context is not None:
            return
        if urlsplit(url).scheme != "https":
            raise _refused(
                OutboundError("invalid_url", "A client certificate is only sent over https."),
                url,
                reason="mtls_without_https",
            )
        try:
            self._client_context = client_context(certificate)
        except ClientCertificateError as exc:
            raise _refused(
                OutboundError("client_certificate", str(exc)),
                url,
                credential_id=certificate.credential_id or None,
            ) from None

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = request.url or ""
        check_url(url)
        self._load_client_certificate(url)
        host = urlsplit(url).hostname or ""
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not address_allowed(str(literal)):
            raise _refused(
                OutboundError("blocked", "That address is not reachable from Patchbay."),
                url,
                address=literal,
            )
        streaming: dict[str, Any] = {}
        if stream and self.streaming:
            seconds = self.deadline or settings.PATCHBAY_HTTP_DEADLINE
            streaming = {"stream": True, "deadline_seconds": seconds}
        try:
            return transport(
                self,
                request,
                timeout=settings.PATCHBAY_HTTP_TIMEOUT,
                verify=verify,
                cert=cert,
                **streaming,
            )
        except OutboundError as exc:  # too large, or cut at the deadline
            _refused(exc, url, reason="deadline" if exc.kind == "timeout" else None)
            raise
        except _BlockedAddress as exc:  # the name resolved to an address we do not call
            raise _refused(
                OutboundError("blocked", "That address is not reachable from Patchbay."),
                url,
                address=exc.args[0] if exc.args else None,
            ) from exc
        except requests.Timeout as exc:
            raise _refused(
                OutboundError("timeout", "The remote server did not answer in time."), url
            ) from exc
        except requests.exceptions.SSLError as exc:
            raise _refused(
                OutboundError("connection", "The TLS handshake with the remote server failed."),
                url,
                reason="tls",
            ) from exc
        except requests.RequestException as exc:
            raise _refused(
                OutboundError("connection", "Could not connect to the remote server."), url
            ) from exc


def guard(
    http: requests.Session,
    *,
    client_certificate: ClientCertificate | None = None,
    deadline: float | None = None,
) -> requests.Session:
    """Route every request of ``http`` (e.g. an ``OAuth2Session``) through the seam.

    ``deadline``: seconds for each whole request, for callers whose URL a tenant chose
    (token endpoints, webhooks): ``PATCHBAY_HTTP_DEADLINE`` when not given.

    The adapter is mounted for every scheme, so ``ftp://`` or ``file://`` reach
    :func:`check_url` and are refused like any other URL Patchbay must not call.
    Callers building an ``OAuth2Session`` should still call :func:`check_url`
    first: requests refuses a URL with no host before any adapter sees it.
    """
    adapter = GuardedAdapter(
        max_retries=0, client_certificate=client_certificate, deadline=deadline
    )
    http.adapters.clear()
    http.mount("", adapter)
    http.trust_env = False
    http.max_redirects = 3
    return http


class GuardedSession(requests.Session):
    """A ``requests.Session`` whose every failure is an :class:`OutboundError`."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        check_url(url.decode() if isinstance(url, bytes) else url)
        try:
            return super().request(method, url, *args, **kwargs)
        except OutboundError:
            raise
        except requests.RequestException as exc:
            raise _refused(
                OutboundError("connection", "The request could not be sent."),
                url.decode(errors="replace") if isinstance(url, bytes) else url,
            ) from exc


def session(
    *, client_certificate: ClientCertificate | None = None, deadline: float | None = None
) -> requests.Session:
    """A session through the seam; with ``client_certificate``, every https request of it
    presents that certificate (mTLS) and trusts only its CA when it has one; ``deadline``
    as for :func:`guard`."""
    return guard(GuardedSession(), client_certificate=client_certificate, deadline=deadline)
