"""What deleting a connection tells the outside world: an event, and RFC 7009 revocation.

:func:`connection_deletion_prepare` reads, before the rows go, which token
credentials the deletion removes and how to revoke them (the config's
``revokeUrl``, the client credential). :meth:`ConnectionDeletion.record` then
emits ``connection.deleted`` in the deleting transaction and schedules the
revocation for after the commit: the provider is never called while a
transaction is open, and a failed revocation never stops a deletion. A failure
is logged (no token, no secret) and emitted as ``connection.revocation_failed``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from connections.models import Connection, ConnectionCredential
from connections.oauth.client_auth import client_authentication
from connections.oauth.renewal import client_credential_for, config_of, token_client
from connections.oauth.tokens import TokenRequestError, provider_error_code
from core.client_tls import ClientCertificate
from core.errors import PatchbayError
from core.outbound import OutboundError, session
from credentials.models import CredentialType
from organisations.models import Organisation
from webhooks.services import event_emit

logger = logging.getLogger("patchbay.tokens")


@dataclass(frozen=True)
class Revocation:
    """The tokens of one deleted credential and where to revoke them. ``repr`` hides them."""

    credential_id: str
    revoke_url: str
    client_id: str
    client_secret: str = field(repr=False)
    token_auth_method: str = "client_secret_basic"
    tokens: list[tuple[str, str]] = field(default_factory=list, repr=False)  # (hint, token)
    client_certificate: ClientCertificate | None = None  # mTLS (RFC 8705)
    problem: str | None = None  # why it cannot be sent at all (e.g. no_mtls_credential)


@dataclass
class ConnectionDeletion:
    organisation: Organisation
    connection_id: str
    connector_id: str
    status: str
    revocations: list[Revocation] = field(default_factory=list)

    def record(self) -> None:
        """In the deleting transaction: the event now, the revocation after the commit."""
        event_emit(
            organisation=self.organisation,
            type="connection.deleted",
            # What happened, and what the connection was until then: a receiver keeping a
            # copy of each connection's status sees "deleted", never a stale "active".
            data={
                "connectionId": self.connection_id,
                "connectorId": self.connector_id,
                "status": "deleted",
                "previousStatus": self.status,
            },
        )
        if self.revocations:
            transaction.on_commit(self.revoke, robust=True)

    def revoke(self) -> list[str]:
        """Revoke every token; returns the failures (short codes), recorded as an event."""
        failures: list[dict[str, str]] = []
        for revocation in self.revocations:
            for hint, token in revocation.tokens:
                error = token_revoke(revocation, hint=hint, token=token)
                if error is not None:
                    failures.append(
                        {
                            "credentialId": revocation.credential_id,
                            "tokenTypeHint": hint,
                            "error": error,
                        }
                    )
        if failures:
            logger.warning(
                "token revocation failed connection=%s failures=%s",
                self.connection_id,
                ", ".join(f"{f['tokenTypeHint']}:{f['error']}" for f in failures),
            )
            event_emit(
                organisation=self.organisation,
                type="connection.revocation_failed",
                data={
                    "connectionId": self.connection_id,
                    "connectorId": self.connector_id,
                    "failures": failures,
                },
            )
        return [f["error"] for f in failures]


def token_revoke(revocation: Revocation, *, hint: str, token: str) -> str | None:
    """POST one RFC 7009 revocation; None on success (HTTP 200), else a short error code."""
    if revocation.problem:
        return revocation.problem
    if not revocation.client_id:
        return "no_client_credential"
    form = {"token": token, "token_type_hint": hint}
    auth = client_authentication(
        revocation.token_auth_method, revocation.client_id, revocation.client_secret, form
    )
    try:
        response = session(
            client_certificate=revocation.client_certificate,
            deadline=settings.PATCHBAY_HTTP_TOKEN_DEADLINE,
        ).post(revocation.revoke_url, data=form, auth=auth, allow_redirects=False)
    except OutboundError as exc:  # the kind is in the seam's own log line
        return exc.public_kind
    if response.status_code == 200:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    return provider_error_code(error) or f"http_{response.status_code}"


def connection_deletion_prepare(*, connection: Connection) -> ConnectionDeletion:
    """Read what deleting ``connection`` will need to report and revoke, before it is deleted.

    Only token credentials no other connection uses are revoked (they are the ones the
    deletion removes), and only when their config has a ``revokeUrl``.
    """
    deletion = ConnectionDeletion(
        organisation=connection.organisation,
        connection_id=str(connection.pk),
        connector_id=str(connection.connector_id),
        status=connection.status,
    )
    links = list(
        ConnectionCredential.objects.filter(
            connection=connection, credential__type=CredentialType.OAUTH2_TOKEN
        ).select_related("credential", "auth_scheme_config", "client_credential")
    )
    shared = set(
        ConnectionCredential.objects.filter(
            credential_id__in=[link.credential_id for link in links]
        )
        .exclude(connection=connection)
        .values_list("credential_id", flat=True)
    )
    for link in links:
        if link.credential_id in shared:
            continue
        config = config_of(link)
        if not config.revoke_url:
            continue
        data = link.credential.data if isinstance(link.credential.data, dict) else {}
        tokens = [
            (hint, value)
            for hint, value in (
                ("refresh_token", data.get("refreshToken")),
                ("access_token", data.get("accessToken")),
            )
            if isinstance(value, str) and value
        ]
        if not tokens:
            continue
        client = client_credential_for(link, config)
        problem = None
        try:
            auth = token_client(config, client) if client is not None else None
        except PatchbayError:  # unparseable additionalTokenParams: irrelevant here
            auth = None
        except TokenRequestError as exc:  # mTLS without a usable certificate credential
            auth, problem = None, exc.reason
        deletion.revocations.append(
            Revocation(
                credential_id=str(link.credential_id),
                revoke_url=config.revoke_url,
                client_id=auth.client_id if auth is not None else "",
                client_secret=auth.client_secret if auth is not None else "",
                token_auth_method=config.token_auth_method,
                tokens=tokens,
                client_certificate=auth.client_certificate if auth is not None else None,
                problem=problem,
            )
        )
    return deletion
