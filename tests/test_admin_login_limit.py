"""Admin login attempts are limited per username and address (django-axes): a password guesser
is locked out, even once they guess right, while the same user elsewhere still gets in."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_LIMIT_TRUSTED_PROXIES = 0


@pytest.fixture
def admin_account():
    return get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)


def attempt(client, password, *, address="203.0.113.7", **headers):
    return client.post(
        LOGIN, {"username": "boss", "password": password}, REMOTE_ADDR=address, **headers
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_the_right_password_logs_in(client, admin_account):
    assert logged_in(attempt(client, PASSWORD))


def test_guessing_locks_the_user_out_at_that_address_even_with_the_right_password(
    client, admin_account
):
    for guess in ("123456", "password"):
        assert attempt(client, guess).status_code == 200  # the form again, with its error
    assert attempt(client, "letmein").status_code == 429  # the third failure locks
    locked = attempt(client, PASSWORD)
    assert locked.status_code == 429
    assert "locked" in locked.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_the_same_user_from_another_address_still_logs_in(client, admin_account):
    for guess in ("1", "2", "3"):
        attempt(client, guess)
    assert attempt(client, PASSWORD).status_code == 429
    assert logged_in(attempt(client, PASSWORD, address="198.51.100.9"))


def test_a_success_before_the_limit_clears_the_count(client, admin_account):
    attempt(client, "1")
    attempt(client, "2")
    assert logged_in(attempt(client, PASSWORD))
    client.logout()
    attempt(client, "3")
    attempt(client, "4")
    assert logged_in(attempt(client, PASSWORD))


def test_a_forged_forwarded_for_does_not_escape_the_count_behind_a_proxy(
    client, admin_account, settings
):
    """Behind one proxy the client is the last X-Forwarded-For entry (the one the proxy wrote);
    what the client put before it is not believed."""
    settings.LOGIN_LIMIT_TRUSTED_PROXIES = 1
    for n in range(3):
        attempt(
            client,
            f"guess-{n}",
            address="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.7",
        )
    locked = attempt(
        client, PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.1.1, 203.0.113.7"
    )
    assert locked.status_code == 429
    other_client = attempt(
        client, PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9"
    )
    assert logged_in(other_client)
