"""Encryption at rest for the shared secrets Jira sends on install.

Each site's `sharedSecret` lets anyone holding it act as that site, so it is stored only as a
Fernet token (AES-128-CBC + HMAC-SHA256). The key is `FIELD_ENCRYPTION_KEY` (one or more
comma-separated Fernet keys; the first encrypts, all decrypt, so keys can be rotated) or, when
that is empty, a key derived from `SECRET_KEY` with HKDF-SHA256.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

#: HKDF context, so a key derived from SECRET_KEY is used for nothing else.
_HKDF_INFO = b"connect.installation.shared_secret.v1"


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted (wrong or rotated-away key, or a damaged value)."""


def derive_key(secret_key: str) -> bytes:
    """Return a Fernet key derived from Django's SECRET_KEY."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


def configured_keys() -> list[bytes]:
    """Return the encryption keys in order of preference (raises ValueError if one is malformed)."""
    raw = getattr(settings, "FIELD_ENCRYPTION_KEY", "") or ""
    keys = [part.strip().encode("ascii") for part in raw.split(",") if part.strip()]
    if not keys:
        return [derive_key(settings.SECRET_KEY)]
    for key in keys:
        Fernet(key)  # raises ValueError for anything but 32 url-safe base64 bytes
    return keys


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(plaintext: str) -> str:
    """Encrypt a secret for storage."""
    return _fernet(tuple(configured_keys())).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt a stored secret, or raise SecretDecryptionError."""
    try:
        return _fernet(tuple(configured_keys())).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, UnicodeError) as exc:
        raise SecretDecryptionError("the stored shared secret cannot be decrypted") from exc
