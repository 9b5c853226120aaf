"""Verifying a connection's credentials (SPEC §9.2).

An auth scheme config may carry ``verification: {method, path, expectedStatus}``. To
verify, that request is sent through the proxy machinery — the connection's credentials
applied in order, the outbound seam's SSRF guard, timeouts and deadline, no redirect
followed — and the upstream's status compared with ``expectedStatus`` (any 2xx when
empty). The answer is ``{valid, status, checkedAt}``; the connection's credentials get
``errors`` ``[]`` or a message naming the status, never the upstream's body, and the
connection keeps its last verification for the admin.

The same check runs before anything is stored for ``verify: true`` on
``POST .../connections`` and on the embed forms: :func:`links_verify` takes the
connector, base URL and (config, credential) pairs, saved or not.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from connections.models import Connection, ConnectionCredential
from connections.proxy import send
from connections.selectors import _attach_links as attach_links
from connectors.models import AuthSchemeConfig, Connector
from connectors.schemes.verification import expected
from core.errors import PatchbayError
from core.logs import INFO, refusal
from credentials.models import Credential

logger = logging.getLogger(__name__)

Links = Sequence[tuple[AuthSchemeConfig, Credential]]


@dataclass(frozen=True)
class VerificationResult:
    valid: bool
    status: int
    checked_at: datetime

    @property
    def errors(self) -> list[str]:
        """The credentials' ``errors`` after this check (SPEC §4: ``[]`` = valid)."""
        if self.valid:
            return []
        return [f"verification failed: the API answered HTTP {self.status}"]


def not_configured() -> PatchbayError:
    return PatchbayError(
        "verification_not_configured",
        "None of the connection's auth scheme configs has a verification request.",
        409,
    )


def verification_of(links: Links) -> dict[str, Any]:
    """The first ``verification`` among the links' configs, in the connection's order;
    409 ``verification_not_configured`` when none has one."""
    for config, _credential in links:
        if config.verification:
            return config.verification
    raise not_configured()


def credential_invalid(result: VerificationResult) -> PatchbayError:
    """400 ``credential_invalid``: the credentials were refused; nothing was stored."""
    return PatchbayError(
        "credential_invalid",
        f"The credentials were refused: the API answered HTTP {result.status}.",
        400,
    )


def draft(*, connector: Connector, base_url: str, links: Links) -> Connection:
    """An unsaved connection holding ``links`` (saved credentials or not), for the proxy to
    send a request with before anything is stored. Its links are in place of a prefetch, so
    the proxy reads no row of it."""
    connection = Connection(
        organisation_id=connector.organisation_id, connector=connector, base_url=base_url
    )
    attach_links(
        connection,
        [
            ConnectionCredential(auth_scheme_config=config, credential=credential, position=i)
            for i, (config, credential) in enumerate(links)
        ],
    )
    return connection


def links_of(connection: Connection) -> list[tuple[AuthSchemeConfig, Credential]]:
    """The connection's (config, credential) pairs in order (prefetched when it was read
    through :mod:`connections.selectors`)."""
    rows = sorted(connection.connection_credentials.all(), key=lambda x: (x.position, str(x.pk)))
    return [(row.auth_scheme_config, row.credential) for row in rows]


def links_verify(
    *, connector: Connector, base_url: str, links: Links, connection: Connection | None = None
) -> VerificationResult:
    """Send the links' verification request with their credentials and judge the status.

    ``connection`` is the stored connection the links are of, if any (else an unsaved one
    is made). Raises 409 ``verification_not_configured``, or what the proxy raises when the
    request cannot be made (``upstream_unreachable``, ``upstream_timeout``,
    ``reauthorisation_required``, ``token_refresh_failed`` ...). Stores nothing itself
    (a refreshed OAuth 2.0 token is kept, as for any proxied request).
    """
    verification = verification_of(links)
    if connection is None:
        connection = draft(connector=connector, base_url=base_url, links=links)
    path, _, query = str(verification["path"]).partition("?")
    answer = send(
        connection=connection,
        method=verification.get("method") or "GET",
        path=path.lstrip("/"),
        query=query,
    )
    answer.close()  # the status is all verification reads: the body is never looked at
    return VerificationResult(
        valid=expected(verification, answer.status),
        status=answer.status,
        checked_at=timezone.now(),
    )


def connection_verify(*, connection: Connection) -> VerificationResult:
    """Verify a stored connection (``POST .../connections/{id}/verify``) and record the
    outcome: the credentials' ``errors`` and the connection's last verification.

    ``connection`` is read by :func:`connections.selectors.connection_get` (its links,
    configs, credentials and connector come with it)."""
    links = links_of(connection)
    result = links_verify(
        connector=connection.connector,
        base_url=connection.base_url,
        links=links,
        connection=connection,
    )
    with transaction.atomic():
        Credential.objects.filter(pk__in=[credential.pk for _c, credential in links]).update(
            errors=result.errors, updated_at=result.checked_at
        )
        Connection.objects.filter(pk=connection.pk).update(
            verified_at=result.checked_at,
            verification_status=result.status,
            verification_valid=result.valid,
        )
    if not result.valid:
        refusal(
            logger,
            "credential_invalid",
            level=INFO,
            status=result.status,
            connection_id=connection.pk,
            organisation_id=connection.organisation_id,
        )
    return result
