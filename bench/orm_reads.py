"""gunicorn config for ``bench/rows_ab.py``: the same server, with core.rows' two
hand-written reads replaced by the plain ORM queries they stand for.

Bench code only: it exists so that the figure justifying ``core.rows`` (README,
"Benchmarks") can be measured again, side by side, on any machine.
"""

from __future__ import annotations

from typing import Any


def session_for_token(token: str) -> Any:
    from embed.models import ConnectSession
    from embed.services import session_token_hash

    session = (
        ConnectSession.objects.select_related("hub__organisation", "end_user")
        .filter(token_hash=session_token_hash(token))
        .first()
    )
    if session is None:
        return None
    hub = session.hub
    session.end_user.hub, session.end_user.organisation = hub, hub.organisation
    session.organisation = hub.organisation
    return session


def config_and_client(params: Any) -> Any:
    from connections.oauth import start_config as i
    from connectors.models import AuthSchemeConfig, AuthSchemeType
    from core.errors import invalid, not_found
    from core.text import parse_uuid
    from credentials.models import Credential, CredentialType

    connector_pk = parse_uuid(params.connector_id)
    if connector_pk is None:
        raise not_found("connector")
    credential_pk = parse_uuid(params.credential_id)
    if parse_uuid(params.credential_organisation_id) != params.organisation.pk:
        credential_pk = None
    configs = AuthSchemeConfig.objects.filter(
        organisation=params.organisation, connector_id=connector_pk, type=AuthSchemeType.OAUTH2
    )
    if params.auth_scheme_config_id is not None:
        configs = configs.filter(config_id=params.auth_scheme_config_id)
    if params.hub_id is not None:
        configs = configs.filter(connector__hubs=params.hub_id)
    found = list(configs[:2])
    if len(found) > 1:
        raise invalid(
            "authSchemeConfigId",
            "The connector has several oauth2 auth scheme configs: name one.",
            "auth_scheme_config_required",
        )
    if not found:
        i.explain_missing_config(params, connector_pk)
    client = None
    if credential_pk is not None:
        client = Credential.objects.filter(
            pk=credential_pk, organisation=params.organisation, type=CredentialType.OAUTH2_CLIENT
        ).first()
    return found[0], i.live(client, params.organisation)


def post_worker_init(worker: Any) -> None:
    from connections.oauth import initialise
    from embed import authentication

    authentication.session_for_token = session_for_token
    initialise.config_and_client = config_and_client  # the name initialise calls
