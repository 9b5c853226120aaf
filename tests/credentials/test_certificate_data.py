"""A `certificate` credential is parsed as TLS will use it, when it is written: PEM
certificates, an unencrypted private key, and the key that belongs to the certificate.
Every refusal is a 400 at the field's path, quotes no part of the key, and stores nothing."""

from __future__ import annotations

import pytest

from credentials.models import Credential
from tests.tls import Authority

CA = Authority("Certificate data CA")
CLIENT = CA.issue("client")
OTHER = CA.issue("someone else")
KEY_LINES = CLIENT.key.splitlines()[1:-1]  # the key's base64: never in an answer


def post(alice, inner):
    return alice.client.post(
        alice.url("credentials"),
        {"name": "mtls", "type": "certificate", "data": {"certificate": inner}},
        format="json",
    )


def refusal(response) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_request"
    text = response.content.decode()
    assert not [line for line in KEY_LINES if line in text]
    return [(f["field"], f["message"]) for f in response.json()["fields"]]


def test_a_certificate_its_key_and_a_ca_are_stored(alice):
    inner = {"certificate": CLIENT.certificate + CA.pem, "key": CLIENT.key, "ca": CA.pem}
    created = post(alice, inner)
    assert created.status_code == 201, created.json()
    assert created.json()["data"] == {
        "certificate": {"certificate": inner["certificate"], "ca": CA.pem}
    }
    assert Credential.objects.get().data == inner


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
            "data.certificate.certificate",
            "Must be one or more PEM certificates (-----BEGIN CERTIFICATE-----).",
        ),
        (
            {"ca": "not a certificate"},
            "data.certificate.ca",
            "Must be one or more PEM certificates (-----BEGIN CERTIFICATE-----).",
        ),
        (
            {"key": CLIENT.key.replace(KEY_LINES[0], KEY_LINES[0][::-1])},
            "data.certificate.key",
            "Must be a PEM private key (-----BEGIN PRIVATE KEY-----).",
        ),
        (
            {"key": CLIENT.encrypted_key(b"passphrase")},
            "data.certificate.key",
            "Must not be encrypted: give the key without its passphrase.",
        ),
        (
            {"key": OTHER.key},
            "data.certificate.key",
            "Must be the private key of the first certificate.",
        ),
        (
            {"certificate": CA.pem + CLIENT.certificate},  # the chain in the wrong order
            "data.certificate.key",
            "Must be the private key of the first certificate.",
        ),
    ],
)
def test_what_tls_would_refuse_is_refused_when_written(alice, change, field, message):
    inner = {"certificate": CLIENT.certificate, "key": CLIENT.key, **change}
    assert refusal(post(alice, inner)) == [(field, message)]
    assert not Credential.objects.exists()


def test_a_new_key_alone_is_checked_against_the_stored_certificate(alice):
    created = post(alice, {"certificate": CLIENT.certificate, "key": CLIENT.key})
    url = alice.url(f"credentials/{created.json()['id']}")

    wrong = alice.client.patch(url, {"data": {"certificate": {"key": OTHER.key}}}, format="json")
    assert refusal(wrong) == [
        ("data.certificate.key", "Must be the private key of the first certificate.")
    ]
    moved = alice.client.patch(
        url, {"data": {"certificate": {"certificate": OTHER.certificate}}}, format="json"
    )
    assert refusal(moved) == [
        ("data.certificate.key", "Must be the private key of the first certificate.")
    ]
    assert Credential.objects.get().data == {"certificate": CLIENT.certificate, "key": CLIENT.key}

    both = {"certificate": OTHER.certificate, "key": OTHER.key}
    renewed = alice.client.patch(url, {"data": {"certificate": both}}, format="json")
    assert renewed.status_code == 200, renewed.json()
    assert Credential.objects.get().data == both
