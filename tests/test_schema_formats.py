"""``/api/schema/``: YAML by default, JSON when asked for JSON (query or ``Accept``)."""

from __future__ import annotations

import json

import pytest
import yaml

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "accept", "content_type"),
    [
        ("?format=json", None, "application/json"),
        ("", "application/json", "application/json"),
        ("", "application/vnd.oai.openapi+json", "application/vnd.oai.openapi+json"),
        ("?format=json", "*/*", "application/json"),
    ],
)
def test_it_answers_json_when_asked_for_json(client, query, accept, content_type):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = client.get(f"/api/schema/{query}", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type
    assert json.loads(response.content)["openapi"].startswith("3.")


@pytest.mark.parametrize("query", ["", "?format=yaml"])
def test_yaml_stays_the_default(client, query):
    response = client.get(f"/api/schema/{query}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert not response.content.startswith(b"{")
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_both_formats_are_the_same_document(client):
    as_yaml = yaml.safe_load(client.get("/api/schema/").content)
    assert json.loads(client.get("/api/schema/?format=json").content) == as_yaml


def _error_shape(response) -> dict:
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) <= {"code", "message", "fields"}
    return body


@pytest.mark.parametrize("query", ["?format=xml", "?format=", "?format=html", "?format=api"])
def test_an_unknown_format_answers_400_in_the_error_shape(client, query):
    response = client.get(f"/api/schema/{query}")
    assert response.status_code == 400
    body = _error_shape(response)
    assert body["code"] == "invalid_request"
    assert body["fields"][0]["field"] == "format"
    assert "json" in body["message"]
    assert "yaml" in body["message"]


@pytest.mark.parametrize("accept", ["text/html", "application/xml"])
def test_an_accept_it_cannot_answer_is_406_in_the_error_shape(client, accept):
    response = client.get("/api/schema/", HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert _error_shape(response)["code"] == "not_acceptable"


def test_other_methods_are_405_in_the_error_shape(client):
    response = client.post("/api/schema/", {}, content_type="application/json")
    assert response.status_code == 405
    assert _error_shape(response)["code"] == "method_not_allowed"
