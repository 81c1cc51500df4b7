"""Faults and limits injected into the Operations REST API, reproducibly.

Jira Cloud answers 500/503 now and then, throttles with 429 + ``Retry-After`` (and
``X-RateLimit-*``/``RateLimit-Reason`` headers,
https://developer.atlassian.com/cloud/jira/platform/rate-limiting/), is sometimes slow
and sometimes drops connections. A client must survive all of it; these knobs let tests and
demos produce each case on purpose. Random draws come from one seeded RNG, three per request, so
the same seed and the same request sequence give the same faults.
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jirasim.tokens import Clock

#: RateLimit-Reason values Jira sends with a 429
#: (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/).
RATE_LIMIT_REASONS = (
    "jira-quota-global-based",
    "jira-quota-tenant-based",
    "jira-burst-based",
    "jira-per-issue-on-write",
)
#: Jira adds X-RateLimit-NearLimit when less than 20 % of the window remains.
NEAR_LIMIT_FRACTION = 0.2
WINDOW_SECONDS = 60


class FaultConfigError(ValueError):
    """A fault setting out of range; the message names the setting and what is allowed."""


@dataclass
class Faults:
    """Per-run fault settings. Rates are fractions of REST requests, drawn independently."""

    fail_rate: float = 0.0
    fail_statuses: tuple[int, ...] = (500, 503)
    throttle_rate: float = 0.0
    retry_after: int | None = 1
    rate_limit_reason: str = "jira-burst-based"
    drop_rate: float = 0.0
    drop_response_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: int = 2000
    latency_ms: int = 0
    rate_limit_per_minute: int | None = None
    down: bool = False
    seed: int | None = None
    #: Scripted answers for the next REST requests, consumed in order, before anything random:
    #: {"status": 429, "retry_after": 30, "reason": "jira-quota-tenant-based"}, {"drop": true}.
    script: list[dict] = field(default_factory=list)

    def validate(self) -> None:
        for name in ("fail_rate", "throttle_rate", "drop_rate", "drop_response_rate", "slow_rate"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise FaultConfigError(f"{name} must be a number from 0 to 1, got {value!r}")
        if self.drop_rate + self.fail_rate + self.throttle_rate > 1:
            raise FaultConfigError("drop_rate + fail_rate + throttle_rate must not exceed 1")
        if not self.fail_statuses or not all(
            isinstance(s, int) and 400 <= s <= 599 for s in self.fail_statuses
        ):
            raise FaultConfigError("fail_statuses must be HTTP error codes from 400 to 599")
        for name in ("slow_ms", "latency_ms"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise FaultConfigError(f"{name} must be a whole number of milliseconds ≥ 0")
        if self.retry_after is not None and (
            not isinstance(self.retry_after, int) or self.retry_after < 0
        ):
            raise FaultConfigError("retry_after must be whole seconds ≥ 0, or null")
        if self.rate_limit_per_minute is not None and (
            not isinstance(self.rate_limit_per_minute, int) or self.rate_limit_per_minute < 1
        ):
            raise FaultConfigError("rate_limit_per_minute must be a whole number ≥ 1, or null")
        if self.rate_limit_reason not in RATE_LIMIT_REASONS:
            raise FaultConfigError(f"rate_limit_reason must be one of {RATE_LIMIT_REASONS}")
        if not isinstance(self.script, list) or not all(isinstance(s, dict) for s in self.script):
            raise FaultConfigError("script must be a list of objects")
        for step in self.script:
            if not step.get("drop") and not isinstance(step.get("status"), int):
                raise FaultConfigError("every script step needs a 'status' or 'drop': true")

    def to_public(self) -> dict:
        data = dataclasses.asdict(self)
        data["fail_statuses"] = list(self.fail_statuses)
        return data


@dataclass
class Fault:
    """What to do to one REST request instead of (or on top of) answering it normally."""

    kind: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    #: Apply the request, then drop the connection instead of answering (a lost 202).
    drop_response: bool = False


class FaultInjector:
    """Decides, per REST request, which fault (if any) applies; thread-safe."""

    def __init__(self, faults: Faults | None = None, clock: Clock | None = None) -> None:
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._faults = Faults()
        self._windows: dict[str, tuple[float, int]] = {}
        self.configure(faults or Faults())

    @property
    def faults(self) -> Faults:
        with self._lock:
            return dataclasses.replace(self._faults, script=list(self._faults.script))

    def configure(self, faults: Faults) -> None:
        faults.fail_statuses = tuple(faults.fail_statuses)
        faults.validate()
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._windows.clear()

    def update(self, **changes) -> Faults:
        """Change some settings and keep the rest; the random sequence restarts from the seed."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(Faults)}
        if unknown:
            raise FaultConfigError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        self.configure(dataclasses.replace(self.faults, **changes))
        return self.faults

    def decide(self, tenant: str) -> tuple[Fault | None, dict[str, str]]:
        """Return the fault for the next request of ``tenant`` and rate-limit headers to add."""
        with self._lock:
            faults = self._faults
            delay = faults.latency_ms / 1000
            if faults.script:
                return self._scripted(faults.script.pop(0), delay), {}
            if faults.down:
                return self._unavailable("down", faults, delay), {}
            limited, headers = self._count(tenant, faults)
            if limited:
                return self._throttled("rate-limit", faults, delay, headers), headers
            outcome, slow, lose = (self._rng.random() for _ in range(3))
            if slow < faults.slow_rate:
                delay += faults.slow_ms / 1000
            fault = self._random(outcome, faults, delay)
            if fault is None and lose < faults.drop_response_rate:
                fault = Fault("drop-response", delay=delay, drop_response=True)
            if fault is None and delay:
                fault = Fault("slow", delay=delay)
            return fault, headers

    def _random(self, draw: float, faults: Faults, delay: float) -> Fault | None:
        if draw < faults.drop_rate:
            return Fault("drop", delay=delay, drop=True)
        draw -= faults.drop_rate
        if draw < faults.fail_rate:
            status = faults.fail_statuses[int(draw / faults.fail_rate * len(faults.fail_statuses))]
            fault = Fault("fail", status=status, delay=delay)
            if status == 503 and faults.retry_after is not None:
                fault.headers["Retry-After"] = str(faults.retry_after)
            return fault
        draw -= faults.fail_rate
        if draw < faults.throttle_rate:
            return self._throttled("throttle", faults, delay, {})
        return None

    def _unavailable(self, kind: str, faults: Faults, delay: float) -> Fault:
        fault = Fault(kind, status=503, delay=delay)
        if faults.retry_after is not None:
            fault.headers["Retry-After"] = str(faults.retry_after)
        return fault

    def _throttled(self, kind: str, faults: Faults, delay: float, headers: dict) -> Fault:
        fault = Fault(kind, status=429, delay=delay, headers=dict(headers))
        fault.headers["RateLimit-Reason"] = faults.rate_limit_reason
        if kind == "rate-limit":
            fault.headers["Retry-After"] = str(self._seconds_to_reset())
        elif faults.retry_after is not None:
            fault.headers["Retry-After"] = str(faults.retry_after)
        return fault

    def _scripted(self, step: dict, delay: float) -> Fault:
        delay += step.get("delay_ms", 0) / 1000
        if step.get("drop"):
            return Fault("script", delay=delay, drop=True)
        fault = Fault("script", status=step["status"], delay=delay)
        if step.get("retry_after") is not None:
            fault.headers["Retry-After"] = str(step["retry_after"])
        if step.get("reason"):
            fault.headers["RateLimit-Reason"] = str(step["reason"])
        if step.get("reset_in") is not None:
            fault.headers["X-RateLimit-Reset"] = _iso(self._clock() + step["reset_in"])
        return fault

    def _count(self, tenant: str, faults: Faults) -> tuple[bool, dict[str, str]]:
        limit = faults.rate_limit_per_minute
        if limit is None:
            return False, {}
        now = self._clock()
        start = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS
        window_start, used = self._windows.get(tenant, (start, 0))
        if window_start != start:
            used = 0
        limited = used >= limit
        if not limited:
            used += 1
        self._windows[tenant] = (start, used)
        remaining = limit - used
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": _iso(start + WINDOW_SECONDS),
        }
        if remaining < limit * NEAR_LIMIT_FRACTION:
            headers["X-RateLimit-NearLimit"] = "true"
        return limited, headers

    def _seconds_to_reset(self) -> int:
        now = self._clock()
        window_end = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS + WINDOW_SECONDS
        return max(1, math.ceil(window_end - now))


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
