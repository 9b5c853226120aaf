from __future__ import annotations

import json
from typing import Any

from django.test import Client
from django.urls import reverse

from connectors.models import AuthSchemeConfig, Connector
from tests.admin.conftest import World


def change_url(connector: Connector) -> str:
    return reverse("admin:connectors_connector_change", args=[connector.pk])


def inline_data(connector: Connector, **overrides: Any) -> dict[str, Any]:
    """The connector change form with its configs as stored (secret inputs blank)."""
    configs = list(connector.auth_scheme_configs.all())
    prefix = "auth_scheme_configs"
    data: dict[str, Any] = {
        "name": connector.name,
        "base_url": connector.base_url,
        f"{prefix}-TOTAL_FORMS": str(len(configs)),
        f"{prefix}-INITIAL_FORMS": str(len(configs)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, config in enumerate(configs):
        data |= {
            f"{prefix}-{i}-id": str(config.pk),
            f"{prefix}-{i}-connector": str(connector.pk),
            f"{prefix}-{i}-config_id": config.config_id,
            f"{prefix}-{i}-type": config.type,
            f"{prefix}-{i}-description": config.description,
            f"{prefix}-{i}-settings": json.dumps(config.settings),
            f"{prefix}-{i}-verification": (
                "" if config.verification is None else json.dumps(config.verification)
            ),
            f"{prefix}-{i}-consumer_secret": "",
            f"{prefix}-{i}-position": str(config.position),
        }
    data.update(overrides)
    return data


def errors(response: Any) -> Any:
    if response.context is None:
        return None
    return [f.errors for f in response.context["inline_admin_formsets"][0].formset.forms]


def test_a_blank_consumer_secret_keeps_the_stored_one(admin_client: Client, world: World) -> None:
    before = world.oauth1_config.secrets
    response = admin_client.post(
        change_url(world.connector), inline_data(world.connector, name="Alice CRM 2")
    )
    assert response.status_code == 302, errors(response)
    assert AuthSchemeConfig.objects.get(pk=world.oauth1_config.pk).secrets == before


def test_a_filled_consumer_secret_replaces_the_stored_one(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    response = admin_client.post(
        change_url(world.connector),
        inline_data(world.connector, **{"auth_scheme_configs-1-consumer_secret": "cs-new-4242"}),
    )
    assert response.status_code == 302, errors(response)
    config = AuthSchemeConfig.objects.get(pk=world.oauth1_config.pk)
    assert config.secrets == {"consumerSecret": "cs-new-4242"}
    page = admin_client.get(change_url(world.connector)).content.decode()
    assert_no_secrets("cs-new-4242", texts=[page])


def test_settings_refuse_a_client_secret_without_echoing_it(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    settings = dict(world.oauth2_config.settings)
    settings["grant"] = {
        "type": "authorizationCode",
        "authorizationCode": {"clientId": "x", "clientSecret": "pasted-client-secret-31"},
    }
    response = admin_client.post(
        change_url(world.connector),
        inline_data(world.connector, **{"auth_scheme_configs-0-settings": json.dumps(settings)}),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Secrets are not stored in settings" in html
    assert_no_secrets("pasted-client-secret-31", texts=[html])


def test_settings_are_validated_like_the_api(admin_client: Client, world: World) -> None:
    settings = {**world.oauth2_config.settings, "tokenAuthMethod": "carrier-pigeon"}
    response = admin_client.post(
        change_url(world.connector),
        inline_data(world.connector, **{"auth_scheme_configs-0-settings": json.dumps(settings)}),
    )
    assert response.status_code == 200
    assert "tokenAuthMethod" in response.content.decode()


def test_a_config_added_inline_belongs_to_the_connectors_organisation(
    admin_client: Client, world: World
) -> None:
    data = inline_data(world.connector)
    data |= {
        "auth_scheme_configs-TOTAL_FORMS": "3",
        "auth_scheme_configs-2-connector": str(world.connector.pk),
        "auth_scheme_configs-2-config_id": "key",
        "auth_scheme_configs-2-type": "api-key",
        "auth_scheme_configs-2-description": "",
        "auth_scheme_configs-2-settings": json.dumps({"name": "X-Api-Key", "in": "header"}),
        "auth_scheme_configs-2-consumer_secret": "",
        "auth_scheme_configs-2-position": "2",
    }
    response = admin_client.post(change_url(world.connector), data)
    assert response.status_code == 302, errors(response)
    config = AuthSchemeConfig.objects.get(connector=world.connector, config_id="key")
    assert config.organisation_id == world.organisation.pk


def test_verification_is_edited_and_validated_like_the_api(
    admin_client: Client, world: World
) -> None:
    field = "auth_scheme_configs-0-verification"
    response = admin_client.post(
        change_url(world.connector),
        inline_data(world.connector, **{field: json.dumps({"path": "/../admin"})}),
    )
    assert response.status_code == 200
    assert "verification.path: Must not climb out of the base URL" in response.content.decode()
    world.oauth2_config.refresh_from_db()
    assert world.oauth2_config.verification is None

    response = admin_client.post(
        change_url(world.connector),
        inline_data(world.connector, **{field: json.dumps({"path": "/me"})}),
    )
    assert response.status_code == 302, errors(response)
    world.oauth2_config.refresh_from_db()
    assert world.oauth2_config.verification == {
        "method": "GET",
        "path": "/me",
        "expectedStatus": [],
    }
    page = admin_client.get(change_url(world.connector)).content.decode()
    assert "/me" in page
