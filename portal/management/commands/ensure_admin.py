"""Create the first admin login with a random password, once."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser named 'admin' with a random password if no superuser exists yet. "
        "The password is printed once and kept in var/admin-password.txt (readable by you only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--password-file",
            default=str(Path(settings.BASE_DIR) / "var" / "admin-password.txt"),
            help="Where to write the generated password (mode 0600).",
        )

    def handle(self, *args, username: str, password_file: str, **options):
        User = get_user_model()
        path = Path(password_file)
        if User.objects.filter(is_superuser=True).exists():
            hint = f" (see {path})" if path.exists() else ""
            self.stdout.write(f"An admin login already exists{hint}.")
            return
        password = secrets.token_urlsafe(18)
        User.objects.create_superuser(username=username, email="", password=password)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{username}\n{password}\n")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created admin login: user '{username}', password '{password}' "
                f"(also saved in {path}; change it in the admin)."
            )
        )
