"""Every variable the settings read is documented in .env.example, and nothing more."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def read_by_settings() -> set[str]:
    source = (REPO / "portal" / "settings.py").read_text()
    return set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", source))


def documented() -> set[str]:
    lines = (REPO / ".env.example").read_text().splitlines()
    return {m.group(1) for line in lines if (m := re.match(r"#?\s*([A-Z][A-Z0-9_]+)=", line))}


def test_every_setting_read_from_the_environment_is_in_env_example():
    assert read_by_settings() - documented() == set()


def test_env_example_documents_no_setting_the_portal_ignores():
    assert documented() - read_by_settings() == set()
