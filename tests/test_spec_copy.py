"""jirasim ships its own copy of Atlassian's Operations spec; it must stay the one it was taken
from: the paths under /rest/operations/1.0/ of the official Jira Software Cloud OpenAPI document
(https://dac-static.atlassian.com/cloud/jira/software/swagger.v3.json), unmodified."""

import hashlib
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "jirasim" / "spec" / "jira-operations-openapi.json"
#: SHA-256 of the extract as taken; a change to the file must be a deliberate update of both.
EXTRACT_SHA256 = "5a91c2c94dda6f51cb20477887a5cb7ea88babb4c3a5ede5cff7314219da5aaa"


def test_jirasim_ships_the_operations_spec_unchanged():
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == EXTRACT_SHA256
