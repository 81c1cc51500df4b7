"""Shared secrets at rest: encrypted, decryptable after key rotation, never readable without."""

import pytest
from cryptography.fernet import Fernet

from connect import encryption
from connect.models import Installation

SECRET = "shared-secret-" + "z" * 64


def test_roundtrip_with_a_key_derived_from_secret_key():
    token = encryption.encrypt(SECRET)
    assert SECRET not in token
    assert encryption.decrypt(token) == SECRET


def test_the_same_secret_encrypts_differently_each_time():
    assert encryption.encrypt(SECRET) != encryption.encrypt(SECRET)


def test_configured_key_is_used(settings):
    key = Fernet.generate_key()
    settings.FIELD_ENCRYPTION_KEY = key.decode()
    token = encryption.encrypt(SECRET)
    assert Fernet(key).decrypt(token.encode()).decode() == SECRET


def test_old_key_still_decrypts_after_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    token = encryption.encrypt(SECRET)
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    assert encryption.decrypt(token) == SECRET
    assert Fernet(new.encode()).decrypt(encryption.encrypt(SECRET).encode())


def test_another_secret_key_cannot_decrypt(settings):
    token = encryption.encrypt(SECRET)
    settings.SECRET_KEY = "a-completely-different-secret-key-0123456789-abcdefghijkl"
    with pytest.raises(encryption.SecretDecryptionError):
        encryption.decrypt(token)


def test_model_stores_only_the_ciphertext():
    installation = Installation(client_key="k")
    installation.set_shared_secret(SECRET)
    assert SECRET not in installation.shared_secret_encrypted
    assert installation.shared_secret == SECRET


def test_model_without_a_secret_raises_a_clear_error():
    with pytest.raises(encryption.SecretDecryptionError):
        _ = Installation(client_key="k").shared_secret


def test_empty_secret_is_refused():
    with pytest.raises(ValueError):
        Installation(client_key="k").set_shared_secret("")
