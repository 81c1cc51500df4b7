"""Every model change has its migration, so `make run` and deploys migrate without Django
warning that "models have changes that are not yet reflected in a migration"."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration(capsys):
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=1)
    except SystemExit as exc:
        pytest.fail(f"makemigrations --check exited {exc.code}: {capsys.readouterr().out}")
    assert "No changes detected" in capsys.readouterr().out
