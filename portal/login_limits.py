"""The client address django-axes counts failed admin logins against.

Behind a reverse proxy every request comes from the proxy's address, so one attacker would lock
everyone out (or nobody would be counted apart). With LOGIN_LIMIT_TRUSTED_PROXIES = N proxies in
front of the portal, each appending to `X-Forwarded-For`, the client is the N-th address from the
right: the ones further left were written by the client and are not believed.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address a login attempt is counted against (see the module docstring)."""
    proxies = int(getattr(settings, "LOGIN_LIMIT_TRUSTED_PROXIES", 0))
    remote = request.META.get("REMOTE_ADDR") or None
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
