"""Loading the demo that ``make run`` serves (SPEC §2): ``manage.py demo`` calls :func:`demo_load`.

Idempotent, because ``make run`` calls it on every start, also while an earlier start
is still serving: rows are found by name and updated, never duplicated, and what a
running demo uses is kept:

* **One demo API key.** A key exists in plain text only when it is created, so the
  loader keeps it in the demo key file (``PATCHBAY_DEMO_KEY_FILE``, beside the dev
  ``.env``, readable by its owner only). A later run reuses the key in the file while
  it still matches a usable demo key; otherwise it creates one, revokes the demo's
  older keys (their plain text is gone) and writes the new one. The demo host page's
  backend (``manage.py demo_host``) uses the same key, read from the same file.
* **The OAuth client secret** is kept while the ``oauth2-client`` credential's secret
  still matches the demo provider's application (which keeps only a hash); when it
  does not (a new database, a lost key ring), both get a new one, so the two can never
  drift apart.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from connectors.oauth2 import OAUTH2_DEFAULTS
from core.crypto import DecryptionError
from credentials.models import Credential, CredentialType
from demo.signing import demo_public_jwk
from embed.models import Hub
from organisations.keys import api_key_create, api_key_matches, split_key
from organisations.models import ApiKey, Organisation

ORGANISATION_NAME = "Demo Org"
CONNECTOR_NAME = "Demo Provider"
CREDENTIAL_NAME = "Demo Provider OAuth client"
APPLICATION_NAME = "Patchbay demo"
API_KEY_NAME = "demo (manage.py demo)"
# Earlier versions gave the host page a key of its own, one more per start.
LEGACY_HOST_KEY_NAME = "demo host (manage.py demo_host)"
OPERATOR_USERNAME, OPERATOR_PASSWORD = "admin", "admin-password"
PROVIDER_USERNAME, PROVIDER_PASSWORD = "demo", "demo-password"
API_KEY_CONNECTOR_NAME = "Demo API-key service"
HUB_NAME = "Demo Hub"
# The demo host page (`manage.py demo_host`, started by `make run`) listens here unless
# told otherwise (`make run DEMO_HOST_PORT=…` passes it to both commands).
DEFAULT_HOST_PORT = 8001


class DemoError(Exception):
    """The demo cannot be loaded as asked (the command turns it into one clear line)."""


def host_origin(port: int) -> str:
    """The demo host page's origin: ``localhost``, another origin than Patchbay's 127.0.0.1."""
    return f"http://localhost:{port}"


@dataclass(frozen=True)
class Demo:
    organisation: Organisation
    api_key: str
    api_key_created: bool
    connector: Connector
    auth_scheme_config: AuthSchemeConfig
    client_credential: Credential
    client_id: str
    operator_known: bool
    hub: Hub
    host_origin: str


def key_file() -> Path:
    return Path(settings.PATCHBAY_DEMO_KEY_FILE)


def remembered_key() -> str | None:
    """The demo API key kept in the key file, or None when there is none."""
    try:
        key = key_file().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return key if split_key(key) is not None else None


def _remember_key(key: str) -> None:
    path = key_file()
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    # Readable by its owner only: it holds an API key.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    os.replace(temporary, path)


def demo_api_key(organisation: Organisation) -> ApiKey | None:
    """The usable demo key of ``organisation`` whose plain text is in the key file."""
    key = remembered_key()
    if key is None:
        return None
    api_key = ApiKey.objects.filter(
        organisation=organisation, name=API_KEY_NAME, prefix=split_key(key)
    ).first()
    if api_key is None or not api_key.is_usable() or not api_key_matches(api_key, key):
        return None
    return api_key


def _api_key(organisation: Organisation) -> tuple[str, bool]:
    """The demo's one API key: (plaintext, created now)."""
    keys = ApiKey.objects.filter(
        organisation=organisation,
        name__in=[API_KEY_NAME, LEGACY_HOST_KEY_NAME],
        revoked_at__isnull=True,
    )
    kept = demo_api_key(organisation)
    if kept is not None:
        keys.exclude(pk=kept.pk).update(revoked_at=timezone.now())
        key = remembered_key()
        assert key is not None
        return key, False
    keys.update(revoked_at=timezone.now())
    key = api_key_create(organisation=organisation, name=API_KEY_NAME).key
    _remember_key(key)
    return key, True


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
    """The demo provider's end user, whose password is the printed one."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=PROVIDER_USERNAME)
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        # Never give an operator account a password printed in a README.
        raise DemoError(
            f"User {PROVIDER_USERNAME!r} exists and is staff; refusing to reset its password."
        )
    if not user.check_password(PROVIDER_PASSWORD):
        user.set_password(PROVIDER_PASSWORD)
        user.save()
    return user


def _stored_secret(credential: Credential | None) -> str | None:
    if credential is None:
        return None
    try:
        data = credential.data
    except DecryptionError:  # a key ring that no longer has its key: issue a new secret
        return None
    secret = data.get("clientSecret") if isinstance(data, dict) else None
    return secret if isinstance(secret, str) and secret else None


def _application(kept_secret: str | None) -> tuple[Any, str]:
    """The demo provider's OAuth client and its secret: ``kept_secret`` while the
    application's hash still matches it, else a new one (hashed by the model on save)."""
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
    secret = kept_secret
    if (
        application.pk is None
        or secret is None
        or not check_password(secret, application.client_secret)
    ):
        secret = secrets.token_urlsafe(32)
        application.client_secret = secret
    application.save()
    return application, secret


def _client_credential(organisation: Organisation) -> Credential | None:
    return (
        Credential.objects.filter(
            organisation=organisation, type=CredentialType.OAUTH2_CLIENT, name=CREDENTIAL_NAME
        )
        .order_by("created_at")
        .first()
    )


def _client_credential_save(
    credential: Credential | None,
    organisation: Organisation,
    *,
    client_id: str,
    client_secret: str,
    token_url: str,
) -> Credential:
    if credential is None:
        credential = Credential(
            organisation=organisation, type=CredentialType.OAUTH2_CLIENT, name=CREDENTIAL_NAME
        )
    # Assigned, never merged with what is stored: a changed key ring cannot fail here.
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
    config = _config(
        connector,
        AuthSchemeType.OAUTH2,
        "The demo OAuth 2.0 provider served by this process.",
        oauth2_settings,
        # POST .../connections/{id}/verify asks the provider whom the token belongs to.
        verification={"method": "GET", "path": "/me", "expectedStatus": [200]},
    )
    return connector, config


def _config(
    connector: Connector,
    type: str,
    description: str,
    settings_: dict[str, Any],
    verification: dict[str, Any] | None = None,
) -> AuthSchemeConfig:
    """The connector's one auth scheme config, whose id is its type (``oauth2``, ``api-key``)."""
    config, _ = AuthSchemeConfig.objects.update_or_create(
        connector=connector,
        config_id=type,
        defaults={
            "organisation": connector.organisation,
            "type": type,
            "description": description,
            "settings": settings_,
            "verification": verification,
        },
    )
    return config


def _api_key_connector(organisation: Organisation) -> Connector:
    """A connector whose end users connect by pasting an API key (the panel's form)."""
    connector, _ = Connector.objects.update_or_create(
        organisation=organisation,
        name=API_KEY_CONNECTOR_NAME,
        defaults={"base_url": "https://api.example.com/"},
    )
    _config(
        connector,
        AuthSchemeType.API_KEY,
        "An API key the end user pastes into the connect panel.",
        {"name": "X-Api-Key", "in": "header"},
    )
    return connector


def _hub(organisation: Organisation, connectors: list[Connector], *, origin: str) -> Hub:
    """The hub the demo host page embeds: both demo connectors, framed from ``origin``, and
    the demo company's public signing key (:mod:`demo.signing`)."""
    hub, _ = Hub.objects.update_or_create(
        organisation=organisation,
        name=HUB_NAME,
        defaults={
            "allowed_origins": [origin],
            "return_urls": [f"{origin}/"],
            "branding_title": "Connect your tools to Demo",
            "branding_logo_url": "",
            "branding_accent_color": "#2f5bd3",
            "signing_keys": {"keys": [demo_public_jwk()]},
        },
    )
    hub.connectors.set(connectors)
    return hub


@transaction.atomic
def demo_load(*, host_port: int = DEFAULT_HOST_PORT) -> Demo:
    """Create or update every demo row, reusing the demo API key and client secret.

    ``host_port`` is where the demo host page listens: the hub is framed from there.
    """
    organisation = _organisation()
    api_key, created = _api_key(organisation)
    operator_known = _operator()
    _provider_user()
    stored = _client_credential(organisation)
    application, client_secret = _application(_stored_secret(stored))
    provider = f"{settings.PATCHBAY_PUBLIC_URL}/demo/provider"
    credential = _client_credential_save(
        stored,
        organisation,
        client_id=application.client_id,
        client_secret=client_secret,
        token_url=f"{provider}/token/",
    )
    connector, config = _connector(
        organisation, credential=credential, client_id=application.client_id
    )
    origin = host_origin(host_port)
    hub = _hub(organisation, [connector, _api_key_connector(organisation)], origin=origin)
    return Demo(
        organisation=organisation,
        api_key=api_key,
        api_key_created=created,
        connector=connector,
        auth_scheme_config=config,
        client_credential=credential,
        client_id=application.client_id,
        operator_known=operator_known,
        hub=hub,
        host_origin=origin,
    )
