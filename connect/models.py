"""The Jira sites the app is installed in."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from . import encryption
from .errors import InactiveInstallation, UnknownIssuer


class InstallationQuerySet(models.QuerySet["Installation"]):
    def installed(self, client_key: str, *, require_enabled: bool = True) -> Installation:
        """The installed site with this clientKey (and enabled, unless `require_enabled` is
        False), or the ConnectError that says why there is none: the one lookup every verified
        Jira call goes through."""
        installation = self.filter(client_key=client_key).first()
        if installation is None:
            raise UnknownIssuer("no Jira site with this 'iss' has installed the app")
        if installation.superseded_by_id is not None:
            raise InactiveInstallation("this Jira site was installed again under a new clientKey")
        if installation.state != Installation.State.INSTALLED:
            raise InactiveInstallation("this Jira site has uninstalled the app")
        if require_enabled and not installation.enabled:
            raise InactiveInstallation("this Jira site has disabled the app")
        return installation


class Installation(models.Model):
    """One Jira site that installed the app, created only by a verified signed install.

    The tenant key is `client_key` (the verified `iss` of Jira's calls), never `base_url`,
    which changes when a site is renamed.
    """

    class State(models.TextChoices):
        INSTALLED = "installed", "Installed"
        UNINSTALLED = "uninstalled", "Uninstalled"

    client_key = models.CharField(max_length=255, unique=True)
    app_key = models.CharField(max_length=255, blank=True)
    shared_secret_encrypted = models.TextField(blank=True, editable=False)
    base_url = models.URLField(max_length=255)
    display_url = models.URLField(max_length=255, blank=True)
    cloud_id = models.CharField(max_length=64, blank=True)
    installation_id = models.CharField(max_length=255, blank=True)
    product_type = models.CharField(max_length=32, blank=True)
    description = models.CharField(max_length=1000, blank=True)
    server_version = models.CharField(max_length=64, blank=True)
    plugins_version = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, choices=State, default=State.INSTALLED)
    enabled = models.BooleanField(default=True)
    last_lifecycle_iat = models.BigIntegerField(default=0, editable=False)
    installed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    #: The installation of the same site (same cloudId or baseUrl) under a newer clientKey.
    superseded_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="supersedes",
    )
    superseded_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = InstallationQuerySet.as_manager()

    class Meta:
        ordering = ["base_url"]
        # What ops staff and Jira admins call them: the admin lists "Jira sites".
        verbose_name = "Jira site"
        verbose_name_plural = "Jira sites"

    def __str__(self) -> str:
        return self.display_url or self.base_url

    @property
    def is_active(self) -> bool:
        """Whether the app may call this site and accept its calls."""
        return self.state == self.State.INSTALLED and self.enabled and not self.superseded_by_id

    @property
    def shared_secret(self) -> str:
        """The site's HS256 secret, decrypted on use; never stored or logged in the clear.

        Raises `connect.encryption.SecretDecryptionError` if it cannot be decrypted.
        """
        if not self.shared_secret_encrypted:
            raise encryption.SecretDecryptionError("no shared secret is stored for this site")
        return encryption.decrypt(self.shared_secret_encrypted)

    def set_shared_secret(self, secret: str) -> None:
        """Store a new secret, encrypted (the caller saves the row)."""
        if not secret:
            raise ValueError("a shared secret cannot be empty")
        self.shared_secret_encrypted = encryption.encrypt(secret)

    def wipe_shared_secret(self) -> None:
        """Forget the secret (the caller saves the row): nobody may sign for this site again."""
        self.shared_secret_encrypted = ""

    def supersede(self, newer: Installation) -> None:
        """Mark this row replaced by `newer`, the same site under a new clientKey: it becomes
        uninstalled and loses its secret at once. Its workspace links stay until staff carry
        them over (nothing moves silently). Saves the row."""
        now = timezone.now()
        self.superseded_by = newer
        self.superseded_at = now
        if self.state == self.State.INSTALLED:
            self.state = self.State.UNINSTALLED
            self.uninstalled_at = now
        self.wipe_shared_secret()
        self.save(
            update_fields=[
                "superseded_by",
                "superseded_at",
                "state",
                "uninstalled_at",
                "shared_secret_encrypted",
                "updated_at",
            ]
        )


class UsedLifecycleToken(models.Model):
    """A lifecycle token already accepted, kept until it expires.

    The body of a lifecycle call is not signed, so one token is good for one call. Kept in the
    database rather than a cache so that every web process, on every machine, refuses a replay.
    """

    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.digest[:12]
