from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.urls import reverse

from credentials.models import Credential
from tests.admin.conftest import World


def change_url(credential: Credential) -> str:
    return reverse("admin:credentials_credential_change", args=[credential.pk])


def form_data(admin_client: Client, credential: Credential, **overrides: Any) -> dict[str, Any]:
    """The change form as a browser would submit it untouched (password inputs blank)."""
    response = admin_client.get(change_url(credential))
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name in form.fields:
        # BoundField.value() is already what the widget renders (JSON fields: JSON text).
        value = "" if name.startswith("secret_") else form[name].value()
        data[name] = "" if value is None else value
    data.update(overrides)
    return data


def secret_input(admin_client: Client, credential: Credential, label: str) -> str:
    form = admin_client.get(change_url(credential)).context["adminform"].form
    return next(name for name, field in form.fields.items() if field.label == label)


def raw_column(credential: Credential) -> str:
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT data FROM credentials_credential WHERE id = %s", [credential.pk.hex])
        row = cursor.fetchone()
        if row is None:  # PostgreSQL stores UUIDs natively
            cursor.execute(
                "SELECT data FROM credentials_credential WHERE id = %s", [str(credential.pk)]
            )
            row = cursor.fetchone()
    return str(row[0])


def test_a_blank_secret_keeps_the_stored_value(admin_client: Client, world: World) -> None:
    token = world.credentials["oauth2-token"]
    before = dict(token.data)
    response = admin_client.post(change_url(token), form_data(admin_client, token, name="renamed"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    token = Credential.objects.get(pk=token.pk)
    assert token.name == "renamed"
    assert token.data == before


def test_a_filled_secret_replaces_the_stored_value(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    token = world.credentials["oauth2-token"]
    old_refresh = token.data["refreshToken"]
    field = secret_input(admin_client, token, "refreshToken")
    response = admin_client.post(
        change_url(token), form_data(admin_client, token, **{field: "new-refresh-token-123"})
    )
    assert response.status_code == 302
    token = Credential.objects.get(pk=token.pk)
    assert token.data["refreshToken"] == "new-refresh-token-123"
    assert token.data["accessToken"] == world.credentials["oauth2-token"].data["accessToken"]
    assert "new-refresh-token-123" not in raw_column(token)
    page = admin_client.get(change_url(token)).content.decode()
    assert_no_secrets("new-refresh-token-123", old_refresh, texts=[page])


def test_it_edits_non_secret_data(admin_client: Client, world: World) -> None:
    client = world.credentials["oauth2-client"]
    secret_before = client.data["clientSecret"]
    public = {"clientId": "alice-client-2", "tokenUrl": "https://provider.example/token2"}
    response = admin_client.post(
        change_url(client), form_data(admin_client, client, public_data=json.dumps(public))
    )
    assert response.status_code == 302
    client = Credential.objects.get(pk=client.pk)
    assert client.data == {**public, "clientSecret": secret_before}


def test_it_refuses_a_secret_in_the_data_box_without_echoing_it(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    client = world.credentials["oauth2-client"]
    pasted = {"clientId": "alice-client", "clientSecret": "pasted-secret-value-987"}
    response = admin_client.post(
        change_url(client), form_data(admin_client, client, public_data=json.dumps(pasted))
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Secret fields are set with the password inputs" in html
    assert_no_secrets("pasted-secret-value-987", texts=[html])


def test_it_refuses_invalid_data_without_echoing_it(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    client = world.credentials["oauth2-client"]
    response = admin_client.post(
        change_url(client),
        form_data(admin_client, client, public_data='{"clientSecret": "half-typed-secret-42"'),
    )
    assert response.status_code == 200
    assert_no_secrets("half-typed-secret-42", texts=[response.content.decode()])


def test_it_validates_the_type_like_the_api(admin_client: Client, world: World) -> None:
    client = world.credentials["oauth2-client"]
    response = admin_client.post(
        change_url(client),
        form_data(
            admin_client, client, public_data=json.dumps({"clientId": "x", "tokenUrl": "nope"})
        ),
    )
    assert response.status_code == 200
    assert "tokenUrl" in response.content.decode()
    assert Credential.objects.get(pk=client.pk).data["tokenUrl"] == (
        "https://provider.example/token"
    )


def test_default_credentials_take_a_secret_input_per_redacted_key(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    default = world.credentials["default"]
    form = admin_client.get(change_url(default)).context["adminform"].form
    assert [f.label for n, f in form.fields.items() if n.startswith("secret_")] == ["apiKey"]
    new_value = base64.b64encode(b"replacement api key").decode()
    response = admin_client.post(
        change_url(default), form_data(admin_client, default, secret_0=new_value)
    )
    assert response.status_code == 302
    default = Credential.objects.get(pk=default.pk)
    assert default.data["apiKey"] == new_value
    assert default.data["region"] == base64.b64encode(b"eu-west").decode()


def test_adding_a_credential_continues_to_its_secret_inputs(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    response = admin_client.post(
        reverse("admin:credentials_credential_add"),
        {
            "organisation": str(world.organisation.pk),
            "type": "basic-auth",
            "name": "new basic",
            "expires_at": "",
            "redact_fields": "[]",
            "public_data": json.dumps({"username": "bob"}),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    credential = Credential.objects.get(name="new basic")
    assert response["Location"] == change_url(credential)
    assert credential.data == {"username": "bob"}
    assert credential.errors == ["Secret fields not set yet: password."]

    field = secret_input(admin_client, credential, "password")
    response = admin_client.post(
        change_url(credential),
        form_data(admin_client, credential, **{field: "bobs-new-password-55"}),
    )
    assert response.status_code == 302
    credential = Credential.objects.get(pk=credential.pk)
    assert credential.data == {"username": "bob", "password": "bobs-new-password-55"}
    assert credential.errors == []
    page = admin_client.get(change_url(credential)).content.decode()
    assert_no_secrets("bobs-new-password-55", texts=[page])


def test_adding_refuses_secrets_in_the_data_box(
    admin_client: Client, world: World, assert_no_secrets: Any
) -> None:
    response = admin_client.post(
        reverse("admin:credentials_credential_add"),
        {
            "organisation": str(world.organisation.pk),
            "type": "string",
            "name": "leaky",
            "expires_at": "",
            "redact_fields": "[]",
            "public_data": json.dumps({"value": "typed-into-the-wrong-box-77"}),
        },
    )
    assert response.status_code == 200
    assert not Credential.objects.filter(name="leaky").exists()
    assert_no_secrets("typed-into-the-wrong-box-77", texts=[response.content.decode()])


@pytest.mark.parametrize(
    "broken",
    [
        {"organisation": ""},  # the checks of the data box never ran
        {"expires_at": "2001-01-01 00:00:00"},
        {"type": "default", "redact_fields": '"password"'},  # not a list
    ],
)
def test_a_secret_in_the_data_box_is_not_shown_again_whatever_failed(
    admin_client: Client, world: World, assert_no_secrets: Any, broken: dict[str, str]
) -> None:
    response = admin_client.post(
        reverse("admin:credentials_credential_add"),
        {
            "organisation": str(world.organisation.pk),
            "type": "basic-auth",
            "name": "leaky",
            "expires_at": "",
            "redact_fields": "[]",
            "public_data": json.dumps({"username": "u", "password": "hunter2-typed-99"}),
            **broken,
        },
    )
    assert response.status_code == 200
    assert not Credential.objects.filter(name="leaky").exists()
    assert_no_secrets("hunter2-typed-99", texts=[response.content.decode()])


def test_a_credential_in_use_is_not_deleted_from_its_page(admin_client, world):
    token = world.credentials["oauth2-token"]  # world.connection uses it
    url = reverse("admin:credentials_credential_delete", args=[token.pk])
    for response in (admin_client.get(url), admin_client.post(url, {"post": "yes"})):
        assert response.status_code == 302
        assert response["Location"] == change_url(token)
    page = admin_client.get(change_url(token)).content.decode()
    assert "is used by" in page
    assert Credential.objects.filter(pk=token.pk).exists()
    assert world.connection.connection_credentials.count() == 1


def test_delete_selected_keeps_credentials_in_use_and_deletes_the_rest(admin_client, world):
    token = world.credentials["oauth2-token"]
    client = world.credentials["oauth2-client"]  # named by the connector's grant
    unused = world.credentials["string"]
    response = admin_client.post(
        reverse("admin:credentials_credential_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [str(token.pk), str(client.pk), str(unused.pk)],
            "post": "yes",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Kept, still in use" in response.content.decode()
    assert set(Credential.objects.filter(pk__in=[token.pk, client.pk, unused.pk])) == {
        token,
        client,
    }
