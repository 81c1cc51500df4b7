"""jirasim ships its own copy of Atlassian's Operations spec; it must stay the official one."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "jirasim" / "spec" / "jira-operations-openapi.json"
OFFICIAL = REPO.parent / "shared" / "spec" / "jira-operations-openapi.json"


@pytest.mark.skipif(not OFFICIAL.exists(), reason="the shared spec folder is not beside the repo")
def test_jirasim_ships_the_official_operations_spec_unchanged():
    assert SHIPPED.read_bytes() == OFFICIAL.read_bytes()
