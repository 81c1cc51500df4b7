"""Display helpers and the read-only mixin shared by the admin modules."""

from typing import Any

from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString


def badge(label: str, colour: str) -> SafeString:
    """A coloured label for a changelist cell."""
    return format_html(
        '<span style="background:{};color:#fff;padding:1px 7px;border-radius:9px;'
        'font-weight:600;white-space:nowrap">{}</span>',
        colour,
        label,
    )


class ReadOnlyAdminMixin:
    """For rows only the portal or Jira writes (outbox, associations, links seen from a site):
    staff can look, not add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
