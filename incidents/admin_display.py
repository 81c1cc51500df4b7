"""Display helpers shared by the admin modules."""

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
