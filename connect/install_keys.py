"""Public keys of signed installs, fetched by `kid` from CONNECT_INSTALL_KEYS_URL and cached.

Atlassian signs `installed`/`uninstalled` with RS256; the PEM for header `kid` K is served at
`GET {CONNECT_INSTALL_KEYS_URL}/{K}` (the signed-install migration,
https://developer.atlassian.com/cloud/jira/platform/connect-active-api-migrations/). Keys never
change under a kid (a rotation publishes a new kid), so a small in-process LRU per kid is safe.
The host comes from settings only, never from the request, and redirects are not followed.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from urllib.parse import quote

import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings

from .errors import InvalidKeyId, InvalidPublicKey, KeyServerUnavailable, UnknownKeyId

#: Allowed `kid` values (our own rule, wider than any kid Atlassian issues); anything else is
#: never fetched, so a token cannot steer the request to another path.
KID_PATTERN = re.compile(r"\A[A-Za-z0-9._-]{1,128}\Z")
#: (connect, read) timeouts for the key server; a hung server must not hang the install.
FETCH_TIMEOUT = (3.05, 10)
#: A PEM RSA public key is well under 2 KB; refuse to read more than this.
MAX_KEY_BYTES = 16 * 1024
#: Weakest RSA key accepted.
MIN_RSA_BITS = 2048
CACHE_SIZE = 64


class _LRU:
    """A tiny thread-safe LRU mapping (url -> key)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, RSAPublicKey] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> RSAPublicKey | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: RSAPublicKey) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_cache = _LRU(CACHE_SIZE)


def clear_cache() -> None:
    """Forget every cached key (tests; a deliberate key-server switch)."""
    _cache.clear()


def validate_kid(kid: object) -> str:
    """Return `kid` if it is a plausible key id, else raise InvalidKeyId (nothing is fetched)."""
    if not isinstance(kid, str) or not KID_PATTERN.match(kid) or set(kid) == {"."}:
        raise InvalidKeyId(
            "the token header needs a 'kid' of 1-128 letters, digits, '.', '_' or '-'"
        )
    return kid


def key_url(kid: str) -> str:
    """The URL of the public key for `kid` (which must already be validated)."""
    base = settings.CONNECT_INSTALL_KEYS_URL.rstrip("/")
    return f"{base}/{quote(kid, safe='')}"


def fetch_public_key(kid: object) -> RSAPublicKey:
    """Return the RSA public key for `kid`, from the cache or the key server.

    Raises InvalidKeyId, UnknownKeyId (the server has no such key), InvalidPublicKey (the
    answer is not an RSA PEM) or KeyServerUnavailable (network error, timeout, 5xx: retryable).
    """
    url = key_url(validate_kid(kid))
    cached = _cache.get(url)
    if cached is not None:
        return cached
    key = _parse_pem(_download(url))
    _cache.put(url, key)
    return key


def _download(url: str) -> bytes:
    try:
        response = requests.get(
            url,
            timeout=FETCH_TIMEOUT,
            allow_redirects=False,
            stream=True,
            headers={"Accept": "application/x-pem-file, text/plain"},
        )
    except requests.RequestException as exc:
        raise KeyServerUnavailable(
            f"the install-key server could not be reached ({type(exc).__name__}); retry later"
        ) from exc
    with response:
        if response.status_code >= 500:
            raise KeyServerUnavailable(
                f"the install-key server answered {response.status_code}; retry later"
            )
        if response.status_code != 200:
            raise UnknownKeyId(
                f"the install-key server has no key for this 'kid' "
                f"(it answered {response.status_code})"
            )
        body = b""
        try:
            for chunk in response.iter_content(4096):
                body += chunk
                if len(body) > MAX_KEY_BYTES:
                    raise InvalidPublicKey("the install-key server's answer is too large")
        except requests.RequestException as exc:
            raise KeyServerUnavailable("the install-key server's answer was cut short") from exc
        return body


def _parse_pem(body: bytes) -> RSAPublicKey:
    try:
        key = load_pem_public_key(body.strip())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidPublicKey("the install-key server's answer is not a PEM public key") from exc
    if not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise InvalidPublicKey(f"the install key is not an RSA key of at least {MIN_RSA_BITS} bits")
    return key
