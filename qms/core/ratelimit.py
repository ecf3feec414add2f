"""A small in-process rate limiter for public pages (per client address and endpoint).

Configured by rules such as RATELIMIT_PUBLIC = "60/minute" ("N/second|minute|hour|day", or
"off"). The window slides: the count of the previous fixed window is weighted by how much of
it still overlaps the last period, so a burst at a window's edge does not get twice the
allowance. State lives in the process: with several gunicorn workers each worker counts on
its own (the effective limit is rule x workers), which is enough to stop a script hammering
the survey links; a shared limit belongs in the proxy in front of the site.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass
from functools import wraps

from flask import current_app, request

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RULE = re.compile(r"\s*(\d+)\s*(?:/|per)\s*(\d+\s*)?(second|minute|hour|day)s?\s*", re.I)
_PRUNE_EVERY = 1000  # hits between sweeps of expired keys


@dataclass(frozen=True)
class Rule:
    limit: int
    period: float


def parse_rule(text) -> Rule | None:
    """'60/minute', '10 per 5 second', '1000/day'; None for off/0/empty."""
    if text is None or str(text).strip().lower() in ("", "0", "off", "none", "false"):
        return None
    m = _RULE.fullmatch(str(text))
    if not m:
        raise ValueError(f"bad rate limit rule {text!r}: use e.g. '60/minute'")
    limit = int(m.group(1))
    if limit <= 0:
        return None
    return Rule(limit, float(int(m.group(2) or 1) * _PERIODS[m.group(3).lower()]))


class RateLimiter:
    """Sliding-window counters keyed by (rule name, client, endpoint); thread-safe."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (window number, count in it, count in the window before, period)
        self._windows: dict[tuple, tuple[int, int, int, float]] = {}
        self._hits = 0

    def hit(self, key: tuple, rule: Rule) -> tuple[bool, float]:
        """Count one request; (allowed, seconds until a request would be allowed again)."""
        now = self._clock()
        window = int(now // rule.period)
        with self._lock:
            current, count, previous, _period = self._windows.get(key, (window, 0, 0, 0.0))
            if current != window:
                previous = count if current == window - 1 else 0
                count = 0
            elapsed = (now - window * rule.period) / rule.period
            estimate = previous * (1.0 - elapsed) + count
            allowed = estimate < rule.limit
            if allowed:
                count += 1
            self._windows[key] = (window, count, previous, rule.period)
            self._hits += 1
            if self._hits % _PRUNE_EVERY == 0:
                self._prune(now)
        retry = 0.0 if allowed else max(1.0, (1.0 - elapsed) * rule.period)
        return allowed, retry

    def _prune(self, now: float) -> None:
        # A key idle for two of its windows no longer counts for anything.
        self._windows = {k: v for k, v in self._windows.items() if (v[0] + 2) * v[3] > now}

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


def limiter_for(app) -> RateLimiter:
    limiter = app.extensions.get("qms.ratelimit")
    if limiter is None:
        # setdefault: two threads racing here end up sharing one limiter
        limiter = app.extensions.setdefault("qms.ratelimit", RateLimiter())
    return limiter


def client_address() -> str:
    """The peer address. Behind a proxy, wrap the app in werkzeug's ProxyFix so that this is
    the client's address and not the proxy's."""
    return request.remote_addr or "unknown"


def rate_limited(name: str = "PUBLIC", on_limit=None):
    """Limit a view by the rule in config RATELIMIT_<name>; on_limit(retry_after) renders the
    refusal (default: abort 429)."""
    config_key = f"RATELIMIT_{name.upper()}"

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            app = current_app._get_current_object()
            rule = _rule(app, config_key)
            if rule is not None:
                key = (config_key, client_address(), request.endpoint)
                allowed, retry = limiter_for(app).hit(key, rule)
                if not allowed:
                    return _refuse(retry, on_limit)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _rule(app, config_key: str) -> Rule | None:
    raw = app.config.get(config_key)
    cache = app.extensions.setdefault("qms.ratelimit.rules", {})
    if raw not in cache:
        cache[raw] = parse_rule(raw)
    return cache[raw]


def _refuse(retry: float, on_limit):
    from flask import abort, make_response

    retry_after = str(math.ceil(retry))
    if on_limit is None:
        abort(429, retry_after=retry_after)
    resp = make_response(on_limit(retry_after))
    resp.status_code = 429
    resp.headers["Retry-After"] = retry_after
    return resp
