"""Markdown descriptions rendered for the admin preview, sanitised before they reach a page."""

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

MARKDOWN_EXTENSIONS = ["extra", "sane_lists"]
# No images: a preview must not make the admin's browser fetch third-party URLs.
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS - {"img"})


def render_markdown(text: str) -> SafeString:
    """HTML for a Markdown text; nh3 strips scripts, event handlers and unsafe links."""
    html = markdown.markdown(text or "", extensions=MARKDOWN_EXTENSIONS, output_format="html")
    return mark_safe(nh3.clean(html, tags=set(ALLOWED_TAGS)))  # noqa: S308 - sanitised by nh3 on the line above
