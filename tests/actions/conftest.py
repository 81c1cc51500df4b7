import pytest

from .support import make_container, make_site, make_workspace


@pytest.fixture(autouse=True)
def action_settings(settings):
    settings.CONNECT_BASE_URL = "https://ops.example.com"
    settings.FIELD_ENCRYPTION_KEY = ""
    return settings


@pytest.fixture
def site_a(db):
    return make_site("alpha")


@pytest.fixture
def site_b(db):
    return make_site("beta")


@pytest.fixture
def world(site_a, site_b):
    """Site A sees workspace ws-a (and ws-shared); site B sees ws-b (and ws-shared)."""
    ws_a = make_workspace("ws-a", sites=[site_a], avatar_url="https://ops.example.com/a.png")
    ws_b = make_workspace("ws-b", sites=[site_b])
    ws_shared = make_workspace("ws-shared", sites=[site_a, site_b])
    make_workspace("ws-unlinked")
    containers = {
        "payments-db": make_container(ws_a, "payments-db", "Payments DB"),
        "payments-api": make_container(ws_a, "payments-api", "Payments API"),
        "secret-b": make_container(ws_b, "secret-b", "Payments B only"),
        "shared-cache": make_container(ws_shared, "shared-cache", "Shared cache"),
    }
    return {
        "a": site_a,
        "b": site_b,
        "ws_a": ws_a,
        "ws_b": ws_b,
        "ws_shared": ws_shared,
        "containers": containers,
    }
