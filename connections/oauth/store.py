"""Store what a finished authorization-code flow obtained (SPEC §5.2, §8): the token
credential, the new or re-authorised connection, and the outcome a polling widget reads."""

from __future__ import annotations

from typing import Any, cast

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from connections.events import connection_event
from connections.models import (
    AuthorisationRequest,
    AuthorisationStatus,
    Connection,
    ConnectionCredential,
    ConnectionStatus,
)
from connections.naming import connection_create_default_named
from connections.oauth.tokens import TokenSet
from core.errors import not_found
from credentials.models import Credential, CredentialType


def connection_authorise(
    *, authorisation_request: AuthorisationRequest, tokens: TokenSet
) -> tuple[Connection, Credential, bool]:
    """Store the tokens of a finished authorisation, in one transaction.

    A new ``oauth2-token`` credential; then either a new connection linking it to the
    oauth2 config, or the re-authorised connection with its token credential replaced
    (the old one deleted) and its status back to active. Returns (connection,
    credential, created).
    """
    request = authorisation_request
    connector = request.connector
    with transaction.atomic():
        credential = Credential.objects.create(
            organisation=request.organisation,
            name=f"{connector.name[:150]} OAuth 2.0 token",
            type=CredentialType.OAUTH2_TOKEN,
            data=cast(Any, tokens.as_credential_data()),  # encrypted JSON; stubs see text
            errors=[],
        )
        if request.connection_id is not None:
            connection = (
                Connection.objects.select_for_update()
                .filter(pk=request.connection_id, organisation=request.organisation)
                .first()
            )
            if connection is None:  # deleted since initialise (its request would be too)
                raise not_found("connection")
            _relink_token(connection, request, credential)
            connection.status = ConnectionStatus.ACTIVE
            connection.save(update_fields=["status", "updated_at"])
            connection_event(connection=connection, type="connection.reauthorised")
            _record_success(request, connection)
            return connection, credential, False

        connection = connection_create_default_named(
            organisation=request.organisation,
            connector=connector,
            end_user_id=request.end_user_id,
        )
        ConnectionCredential.objects.create(
            connection=connection,
            auth_scheme_config=request.auth_scheme_config,
            credential=credential,
            client_credential=request.client_credential,
            position=0,
        )
        connection_event(connection=connection, type="connection.created")
        _record_success(request, connection)
        return connection, credential, True


def _record_success(request: AuthorisationRequest, connection: Connection) -> None:
    """The outcome a polling widget reads (SPEC §8), in the caller's transaction."""
    request.status = AuthorisationStatus.SUCCEEDED
    request.result_connection = connection
    request.error_code = ""
    request.completed_at = timezone.now()
    request.save(update_fields=["status", "result_connection", "error_code", "completed_at"])


def _relink_token(
    connection: Connection, request: AuthorisationRequest, credential: Credential
) -> None:
    link = (
        ConnectionCredential.objects.filter(
            connection=connection, auth_scheme_config=request.auth_scheme_config
        )
        .select_related("credential")
        .first()
    )
    if link is None:
        last = ConnectionCredential.objects.filter(connection=connection).aggregate(
            top=Max("position")
        )["top"]
        ConnectionCredential.objects.create(
            connection=connection,
            auth_scheme_config=request.auth_scheme_config,
            credential=credential,
            client_credential=request.client_credential,
            position=0 if last is None else last + 1,
        )
        return
    old = link.credential
    link.credential = credential
    link.client_credential = request.client_credential
    link.save(update_fields=["credential", "client_credential"])
    if (
        old.type == CredentialType.OAUTH2_TOKEN
        and not ConnectionCredential.objects.filter(credential=old).exists()
    ):
        old.delete()
