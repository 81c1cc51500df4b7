"""Fixtures for the simulator's own tests (the jirasim_server fixture is imported, not global)."""

import pytest

from jirasim.testing import jirasim_server  # noqa: F401 (the fixture, used by name)
from tests.jirasim.builders import install


@pytest.fixture
def sim(jirasim_server):  # noqa: F811 (jirasim_server is the imported fixture)
    return jirasim_server


@pytest.fixture
def app(sim):
    """An app installed on the default site, signing with atlassian-jwt's independent qsh."""
    return install(sim)
