"""Admin sign-in lockout (django-axes): failures are counted in the database, per
username and client address, and the limit holds even against the right password."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def operator(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        username="olga", password="olga-right-password", is_staff=True, is_superuser=True
    )


def sign_in(client: Client, password: str, address: str = "203.0.113.7") -> Any:
    return client.post(LOGIN, {"username": "olga", "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return client.get("/admin/", REMOTE_ADDR="203.0.113.7").status_code == 200


def test_it_signs_in_with_the_right_password_after_a_few_mistakes(operator: Any) -> None:
    client = Client()
    for _ in range(4):
        assert sign_in(client, "wrong").status_code == 200  # the form again, with an error
    assert sign_in(client, "olga-right-password").status_code == 302
    assert signed_in(client)
    # A success forgets the failures.
    assert not AccessAttempt.objects.filter(username="olga").exists()


def test_it_refuses_the_sixth_attempt_in_a_minute_even_with_the_right_password(
    operator: Any,
) -> None:
    for _ in range(4):
        assert sign_in(Client(), "wrong").status_code == 200
    # The fifth failure reaches the limit: the answer already says so.
    assert sign_in(Client(), "wrong").status_code == 429
    # Another browser (no shared session or cookie): the count is in the database.
    client = Client()
    answer = sign_in(client, "olga-right-password")
    assert answer.status_code == 429
    assert not signed_in(client)
    attempt = AccessAttempt.objects.get(username="olga", ip_address="203.0.113.7")
    assert attempt.failures_since_start >= 5


def test_it_locks_the_username_from_that_address_only(operator: Any) -> None:
    for _ in range(5):
        sign_in(Client(), "wrong")
    # An operator elsewhere is not locked out by someone guessing her password.
    client = Client()
    assert sign_in(client, "olga-right-password", address="198.51.100.9").status_code == 302


def test_it_ignores_a_forged_forwarded_for_address(operator: Any) -> None:
    for index in range(5):
        Client().post(
            LOGIN,
            {"username": "olga", "password": "wrong"},
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{index}",
        )
    answer = Client().post(
        LOGIN,
        {"username": "olga", "password": "olga-right-password"},
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )
    assert answer.status_code == 429
