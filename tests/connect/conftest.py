import pytest
from django.core.cache import cache

from connect import install_keys

from .support import APP_KEY, BASE_URL, KeyServer, generate_rsa_key, public_pem

KID = "test-key-1"


@pytest.fixture(scope="session")
def rsa_key():
    return generate_rsa_key()


@pytest.fixture(scope="session")
def other_rsa_key():
    return generate_rsa_key()


@pytest.fixture(scope="session")
def running_key_server():
    server = KeyServer().start()
    yield server
    server.stop()


@pytest.fixture
def key_server(running_key_server, rsa_key, settings):
    """The local install-key server, serving `rsa_key`'s public key as KID."""
    running_key_server.reset(keys={KID: public_pem(rsa_key)})
    settings.CONNECT_INSTALL_KEYS_URL = running_key_server.url
    return running_key_server


@pytest.fixture(autouse=True)
def connect_settings(settings):
    settings.CONNECT_BASE_URL = BASE_URL
    settings.CONNECT_APP_KEY = APP_KEY
    settings.CONNECT_ALLOWED_AUDIENCES = []
    settings.CONNECT_ALLOWED_SITE_HOSTS = ["*.atlassian.net", "*.jira.com"]
    settings.CONNECT_JWT_LEEWAY_SECONDS = 30
    settings.FIELD_ENCRYPTION_KEY = ""
    install_keys.clear_cache()
    cache.clear()
    yield settings
    install_keys.clear_cache()
    cache.clear()
