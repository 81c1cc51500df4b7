"""A bounded, thread-safe log of the HTTP traffic between apps and the simulated Jira.

Entries carry what a provider's engineer needs to see (method, path, status, entity count,
time, which app, which fault) and never a token, secret or request body.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import asdict, dataclass
from urllib.parse import parse_qsl, urlencode

#: Older entries are forgotten beyond this many.
MAX_ENTRIES = 10_000


@dataclass
class LogEntry:
    id: int
    time: float
    direction: str  # "in": an app called Jira; "out": Jira called an app
    site: str
    method: str
    path: str
    query: str
    status: int | None  # None: the connection was dropped or the app could not be reached
    entities: int | None = None
    app: str | None = None
    fault: str | None = None
    note: str | None = None
    duration_ms: float | None = None
    #: When the request arrived (``time`` is when its answer was decided; a delay comes after).
    received: float | None = None


def loggable_query(query: str) -> str:
    """The query string without a ``jwt`` parameter (a token is a secret)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(key, value) for key, value in pairs if key != "jwt"])


class RequestLog:
    def __init__(self) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=MAX_ENTRIES)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, **fields) -> LogEntry:
        fields["query"] = loggable_query(fields.get("query", ""))
        with self._lock:
            entry = LogEntry(id=next(self._ids), **fields)
            self._entries.append(entry)
        return entry

    def entries(self, *, limit: int | None = None, since: int = 0) -> list[dict]:
        """Entries with an id above ``since``, oldest first, at most the last ``limit``."""
        with self._lock:
            selected = [asdict(entry) for entry in self._entries if entry.id > since]
        return selected[-limit:] if limit else selected

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
