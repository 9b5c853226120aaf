"""``manage.py demo``: load the demo that ``make run`` serves (SPEC §2).

Idempotent, because ``make run`` calls it on every start: rows are found by
name and updated, never duplicated. Each run prints a fresh API key (a key
exists in plain text only when it is created) and issues a fresh client
secret to the demo provider's OAuth client, storing the same secret in the
``oauth2-client`` credential, so the two can never drift apart (the provider
keeps only a hash, so the old secret cannot be read back).
"""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from connectors.oauth2 import OAUTH2_DEFAULTS
from credentials.models import Credential, CredentialType
from embed.models import Hub
from organisations.keys import api_key_create
from organisations.models import Organisation

ORGANISATION_NAME = "Demo Org"
CONNECTOR_NAME = "Demo Provider"
CREDENTIAL_NAME = "Demo Provider OAuth client"
APPLICATION_NAME = "Patchbay demo"
API_KEY_NAME = "demo (manage.py demo)"
OPERATOR_USERNAME, OPERATOR_PASSWORD = "admin", "admin-password"
PROVIDER_USERNAME, PROVIDER_PASSWORD = "demo", "demo-password"
API_KEY_CONNECTOR_NAME = "Demo API-key service"
HUB_NAME = "Demo Hub"
# The demo host page (`manage.py demo_host`, started by `make run`): another origin.
HOST_ORIGIN = "http://localhost:8001"


@dataclass(frozen=True)
class Demo:
    organisation: Organisation
    api_key: str
    connector: Connector
    auth_scheme_config: AuthSchemeConfig
    client_credential: Credential
    client_id: str
    operator_known: bool
    hub: Hub


def _organisation() -> Organisation:
    existing = Organisation.objects.filter(name=ORGANISATION_NAME).order_by("created_at")
    return existing.first() or Organisation.objects.create(name=ORGANISATION_NAME)


def _operator() -> bool:
    """Create the well-known operator account, only on a DEBUG install without operators.

    True when ``admin`` / ``admin-password`` signs in (created now or on an earlier run).
    """
    User = get_user_model()
    if not settings.DEBUG:
        return False
    existing = User.objects.filter(username=OPERATOR_USERNAME).first()
    if existing is not None:
        # Repeat the credentials on later runs only while they are still the demo's own.
        return existing.is_superuser and existing.check_password(OPERATOR_PASSWORD)
    if User.objects.filter(is_superuser=True).exists():
        return False
    User.objects.create_superuser(username=OPERATOR_USERNAME, email="", password=OPERATOR_PASSWORD)
    return True


def _provider_user() -> AbstractBaseUser:
    """The demo provider's end user. Its password is reset every run so the printed one works."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=PROVIDER_USERNAME)
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        # Never give an operator account a password printed in a README.
        raise CommandError(
            f"User {PROVIDER_USERNAME!r} exists and is staff; refusing to reset its password."
        )
    user.set_password(PROVIDER_PASSWORD)
    user.save()
    return user


def _application(client_secret: str) -> Any:
    """The demo provider's OAuth client, with ``client_secret`` as its (newly hashed) secret."""
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    application = Application.objects.filter(name=APPLICATION_NAME).order_by("pk").first()
    if application is None:
        application = Application(name=APPLICATION_NAME)
    application.client_type = Application.CLIENT_CONFIDENTIAL
    application.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
    application.redirect_uris = f"{settings.PATCHBAY_PUBLIC_URL}/connections/oauth2/callback"
    application.algorithm = ""
    application.hash_client_secret = True
    application.client_secret = client_secret  # hashed by the model on save
    application.save()
    return application


def _client_credential(
    organisation: Organisation, *, client_id: str, client_secret: str, token_url: str
) -> Credential:
    credential = (
        Credential.objects.filter(
            organisation=organisation, type=CredentialType.OAUTH2_CLIENT, name=CREDENTIAL_NAME
        )
        .order_by("created_at")
        .first()
    )
    if credential is None:
        credential = Credential(
            organisation=organisation, type=CredentialType.OAUTH2_CLIENT, name=CREDENTIAL_NAME
        )
    # Assigned, never read: a changed key ring cannot make the stale ciphertext fail here.
    credential.data = {
        "clientId": client_id,
        "clientSecret": client_secret,
        "tokenUrl": token_url,
        "scopes": ["read"],
    }
    credential.errors = None
    credential.save()
    return credential


def _connector(
    organisation: Organisation, *, credential: Credential, client_id: str
) -> tuple[Connector, AuthSchemeConfig]:
    provider = f"{settings.PATCHBAY_PUBLIC_URL}/demo/provider"
    connector, _ = Connector.objects.update_or_create(
        organisation=organisation,
        name=CONNECTOR_NAME,
        defaults={"base_url": f"{provider}/"},
    )
    oauth2_settings = {
        **OAUTH2_DEFAULTS,
        "authorizeUrl": f"{provider}/authorize/",
        "tokenUrl": f"{provider}/token/",
        "revokeUrl": f"{provider}/revoke_token/",
        "scopes": [
            {"name": "read", "description": "Read your demo data"},
            {"name": "write", "description": "Change your demo data"},
        ],
        "defaultScopes": ["read"],
        "grant": {
            "type": "authorizationCode",
            "authorizationCode": {
                "credentialId": str(credential.pk),
                "organisationId": str(organisation.pk),
                "clientId": client_id,
            },
        },
    }
    config, _ = AuthSchemeConfig.objects.update_or_create(
        connector=connector,
        config_id="oauth2",
        defaults={
            "organisation": organisation,
            "type": AuthSchemeType.OAUTH2,
            "description": "The demo OAuth 2.0 provider served by this process.",
            "settings": oauth2_settings,
        },
    )
    return connector, config


def _api_key_connector(organisation: Organisation) -> Connector:
    """A connector whose end users connect by pasting an API key (the panel's form)."""
    connector, _ = Connector.objects.update_or_create(
        organisation=organisation,
        name=API_KEY_CONNECTOR_NAME,
        defaults={"base_url": "https://api.example.com/"},
    )
    AuthSchemeConfig.objects.update_or_create(
        connector=connector,
        config_id="api-key",
        defaults={
            "organisation": organisation,
            "type": AuthSchemeType.API_KEY,
            "description": "An API key the end user pastes into the connect panel.",
            "settings": {"name": "X-Api-Key", "in": "header"},
        },
    )
    return connector


def _hub(organisation: Organisation, connectors: list[Connector]) -> Hub:
    """The hub the demo host page embeds: both demo connectors, framed from HOST_ORIGIN."""
    hub, _ = Hub.objects.update_or_create(
        organisation=organisation,
        name=HUB_NAME,
        defaults={
            "allowed_origins": [HOST_ORIGIN],
            "return_urls": [f"{HOST_ORIGIN}/"],
            "branding_title": "Connect your tools to Demo",
            "branding_logo_url": "",
            "branding_accent_color": "#2f5bd3",
        },
    )
    hub.connectors.set(connectors)
    return hub


@transaction.atomic
def demo_load() -> Demo:
    """Create or update every demo row; return them with a new API key (plaintext, once)."""
    organisation = _organisation()
    api_key = api_key_create(organisation=organisation, name=API_KEY_NAME).key
    operator_known = _operator()
    _provider_user()
    client_secret = secrets.token_urlsafe(32)
    application = _application(client_secret)
    provider = f"{settings.PATCHBAY_PUBLIC_URL}/demo/provider"
    credential = _client_credential(
        organisation,
        client_id=application.client_id,
        client_secret=client_secret,
        token_url=f"{provider}/token/",
    )
    connector, config = _connector(
        organisation, credential=credential, client_id=application.client_id
    )
    hub = _hub(organisation, [connector, _api_key_connector(organisation)])
    return Demo(
        organisation=organisation,
        api_key=api_key,
        connector=connector,
        auth_scheme_config=config,
        client_credential=credential,
        client_id=application.client_id,
        operator_known=operator_known,
        hub=hub,
    )


class Command(BaseCommand):
    help = "Load the demo (organisation, API key, demo OAuth provider and connector). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.PATCHBAY_DEMO:
            raise CommandError(
                "The demo needs PATCHBAY_DEMO=true: its OAuth provider is only served in demo mode."
            )
        demo = demo_load()
        base = settings.PATCHBAY_PUBLIC_URL
        org_id = demo.organisation.pk
        body = {
            "authorizeUrl": demo.auth_scheme_config.settings["authorizeUrl"],
            "clientId": demo.client_id,
            "credential": {"id": str(demo.client_credential.pk), "organisationId": str(org_id)},
        }
        url = f"{base}/api/v2/o/{org_id}/connectors/{demo.connector.pk}/oauth2/initialise"
        out = self.stdout
        out.write(self.style.SUCCESS("Patchbay demo loaded."))
        out.write(f"  Organisation:  {demo.organisation.name}")
        out.write(f"  Organisation id: {org_id}")
        out.write(f"  API key (new, shown once): {demo.api_key}")
        out.write(f"  Connector:     {demo.connector.name} ({demo.connector.pk})")
        out.write(f"  OAuth client credential: {demo.client_credential.pk}")
        out.write(f"  Hub:           {demo.hub.name} ({demo.hub.pk}), framed from {HOST_ORIGIN}")
        if demo.operator_known:
            out.write(
                f"  Admin:         {base}/admin/  sign in as "
                f"{OPERATOR_USERNAME} / {OPERATOR_PASSWORD}"
            )
        else:
            out.write(f"  Admin:         {base}/admin/  (existing operator accounts unchanged)")
        out.write("")
        out.write("Start an OAuth 2.0 connection:")
        out.write(
            f"  curl -sS -X POST {shlex.quote(url)} \\\n"
            f"    -H {shlex.quote('Authorization: Bearer ' + demo.api_key)} \\\n"
            f"    -H 'Content-Type: application/json' \\\n"
            f"    -d {shlex.quote(json.dumps(body))}"
        )
        out.write(
            "Open the returned url in a browser and sign in at the provider as "
            f"{PROVIDER_USERNAME} / {PROVIDER_PASSWORD}."
        )
