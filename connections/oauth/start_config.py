"""Which oauth2 config and client credential a flow starts with (SPEC §5.1, §8): one
hand-written read on the success path (``core.rows``), and the queries that explain a
miss (an unknown or unoffered connector, one that is not oauth2, or several configs)."""

from __future__ import annotations

import logging
import uuid as uuid_module
from typing import TYPE_CHECKING, Any, NoReturn

from django.db import connection as db_connection
from django.db import models
from django.utils import timezone

from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from core.errors import PatchbayError, invalid, not_found
from core.rows import Join, Source
from core.text import parse_uuid
from credentials.models import Credential, CredentialType
from organisations.models import Organisation

OFFLINE_ACCESS = "offline_access"
DEFAULT_PROMPT = "login"
CALLBACK_PATH = "/connections/oauth2/callback"

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # initialise imports this module; the parameters are its type
    from connections.oauth.initialise import InitialiseParams


_CONFIG_AND_CLIENT = Join(Source(AuthSchemeConfig, "config"), Source(Credential, "client"))


def config_and_client(params: InitialiseParams) -> tuple[AuthSchemeConfig, Credential | None]:
    """The connector's oauth2 config (the one named, or the only one) and the client credential
    the body names, read together in ONE query on the success path.

    Initialise is the flow's hot path, and two ORM queries cost more than everything else it
    does; so this is a hand-written statement (see ``core.rows``: the instances are built
    with the ORM's own converters, and the credential's data stays sealed until the
    encrypted field decrypts it, bound to the credential's own row, as everywhere else).

    The credential is ``None`` when the body names none of the caller's live ``oauth2-client``
    credentials; the caller answers 404 once the config-based checks have run. Telling an
    unknown connector from one without an oauth2 config costs more queries, on errors only.
    """
    connector_pk = parse_uuid(params.connector_id)
    if connector_pk is None:
        raise not_found("connector")
    credential_pk = parse_uuid(params.credential_id)
    if parse_uuid(params.credential_organisation_id) != params.organisation.pk:
        credential_pk = None  # a body naming another organisation: 404, like a missing one
    config, client = _CONFIG_AND_CLIENT.sources
    uuid = AuthSchemeConfig._meta.pk
    assert uuid is not None
    sql = (
        f"SELECT {_CONFIG_AND_CLIENT.select_list()} FROM {config.table()}"  # noqa: S608
        f" LEFT JOIN {client.table()}"
        " ON client.id = %s AND client.organisation_id = %s AND client.type = %s"
        " WHERE config.organisation_id = %s AND config.connector_id = %s AND config.type = %s"
    )
    org = uuid.get_db_prep_value(params.organisation.pk, db_connection)
    args: list[Any] = [
        uuid.get_db_prep_value(credential_pk, db_connection),
        org,
        CredentialType.OAUTH2_CLIENT.value,
        org,
        uuid.get_db_prep_value(connector_pk, db_connection),
        AuthSchemeType.OAUTH2.value,
    ]
    if params.auth_scheme_config_id is not None:
        sql += " AND config.config_id = %s"
        args.append(params.auth_scheme_config_id)
    if params.hub_id is not None:
        # Through a hub, only the connectors it offers exist (SPEC §8).
        sql += (
            f" AND EXISTS (SELECT 1 FROM {_offered_table()} AS offered"  # noqa: S608
            f" WHERE offered.hub_id = %s AND offered.connector_id = config.connector_id)"
        )
        args.append(uuid.get_db_prep_value(params.hub_id, db_connection))
    rows = _CONFIG_AND_CLIENT.fetch(sql + " LIMIT 2", args)
    if len(rows) > 1:
        raise invalid(
            "authSchemeConfigId",
            "The connector has several oauth2 auth scheme configs: name one.",
            "auth_scheme_config_required",
        )
    if not rows:
        explain_missing_config(params, connector_pk)
    found_config, found_client = rows[0]
    assert isinstance(found_config, AuthSchemeConfig)
    assert found_client is None or isinstance(found_client, Credential)
    return found_config, live(found_client, params.organisation)


def _offered_table() -> str:
    """The table of the hubs' offered connectors, through the connector's reverse relation
    (``Connector.hubs``), so the flow need not import embed."""
    relation = Connector._meta.get_field("hubs")
    assert isinstance(relation, models.ManyToManyRel)
    return str(db_connection.ops.quote_name(relation.through._meta.db_table))


def live(credential: Credential | None, organisation: Organisation) -> Credential | None:
    """The joined client credential, unless there is none or it has expired."""
    if credential is None:
        return None
    if credential.expires_at is not None and credential.expires_at <= timezone.now():
        return None  # expired means gone, as in credentials.selectors
    credential.organisation = organisation
    return credential


def explain_missing_config(params: InitialiseParams, connector_pk: uuid_module.UUID) -> NoReturn:
    """Why no oauth2 config matched: unknown or unoffered connector, not oauth2, or none."""
    if (
        params.hub_id is not None
        and not Connector.objects.filter(pk=connector_pk, hubs=params.hub_id).exists()
    ):
        raise not_found("connector")
    others = AuthSchemeConfig.objects.filter(
        organisation=params.organisation, connector_id=connector_pk
    )
    connector_exists = Connector.objects.filter(
        organisation=params.organisation, pk=connector_pk
    ).exists()
    if params.auth_scheme_config_id is not None:
        if others.filter(config_id=params.auth_scheme_config_id).exists():
            raise invalid(
                "authSchemeConfigId", "That auth scheme config is not oauth2.", "not_oauth2"
            )
        raise not_found("auth scheme config" if connector_exists else "connector")
    if connector_exists:
        raise PatchbayError(
            "no_oauth2_config", "The connector has no oauth2 auth scheme config.", 400
        )
    raise not_found("connector")
