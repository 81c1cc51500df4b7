"""Fetching the public keys of signed installs: by kid, quoted, cached, strict about answers."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from connect import errors, install_keys

from .conftest import KID
from .support import public_pem


def pem_of(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_key_is_fetched_from_the_configured_server(key_server, rsa_key):
    key = install_keys.fetch_public_key(KID)
    assert pem_of(key) == public_pem(rsa_key)
    assert key_server.paths == [f"/{KID}"]


def test_key_is_cached_per_kid(key_server, rsa_key):
    key_server.keys["second"] = public_pem(rsa_key)
    for _ in range(3):
        install_keys.fetch_public_key(KID)
        install_keys.fetch_public_key("second")
    assert key_server.paths == [f"/{KID}", "/second"]


def test_cache_is_bounded(key_server, rsa_key):
    for n in range(install_keys.CACHE_SIZE + 5):
        key_server.keys[f"k{n}"] = public_pem(rsa_key)
        install_keys.fetch_public_key(f"k{n}")
    assert len(install_keys._cache) == install_keys.CACHE_SIZE
    install_keys.fetch_public_key("k0")
    assert key_server.paths.count("/k0") == 2


def test_failures_are_not_cached(key_server, rsa_key):
    with pytest.raises(errors.UnknownKeyId):
        install_keys.fetch_public_key("later")
    key_server.keys["later"] = public_pem(rsa_key)
    install_keys.fetch_public_key("later")


def test_key_url_quotes_the_kid(settings):
    settings.CONNECT_INSTALL_KEYS_URL = "https://keys.example/"
    assert install_keys.key_url("a.b_c-d") == "https://keys.example/a.b_c-d"


@pytest.mark.parametrize("kid", ["", "a/b", "a?b", "a b", "x" * 129, "..", ".", None, 7, "a%2e"])
def test_implausible_kids_are_refused(kid):
    with pytest.raises(errors.InvalidKeyId):
        install_keys.validate_kid(kid)


def test_an_oversized_answer_is_refused(key_server):
    key_server.keys[KID] = b"A" * (install_keys.MAX_KEY_BYTES + 10)
    with pytest.raises(errors.InvalidPublicKey):
        install_keys.fetch_public_key(KID)


def test_a_non_rsa_key_is_refused(key_server):
    key_server.keys[KID] = pem_of(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(errors.InvalidPublicKey):
        install_keys.fetch_public_key(KID)


def test_a_weak_rsa_key_is_refused(key_server):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    key_server.keys[KID] = pem_of(weak.public_key())
    with pytest.raises(errors.InvalidPublicKey):
        install_keys.fetch_public_key(KID)


def test_a_client_error_means_unknown_key(key_server):
    key_server.overrides[KID] = (403, b"denied", {})
    with pytest.raises(errors.UnknownKeyId):
        install_keys.fetch_public_key(KID)


def test_a_server_error_is_retryable(key_server):
    key_server.overrides[KID] = (502, b"", {})
    with pytest.raises(errors.KeyServerUnavailable) as raised:
        install_keys.fetch_public_key(KID)
    assert raised.value.status_code == 503
