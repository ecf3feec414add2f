"""The in-process rate limiter: rules, the sliding window, exact counts under threads."""

from __future__ import annotations

import threading

from qms.core.ratelimit import RateLimiter, parse_rule


def test_rate_limiter_counts_exactly_under_threads():
    limiter, rule = RateLimiter(clock=lambda: 0.0), parse_rule("100/minute")
    allowed = []

    def hammer():
        allowed.extend(limiter.hit(("k",), rule)[0] for _ in range(10))

    threads = [threading.Thread(target=hammer) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 100


def test_rate_limiter_window_slides():
    clock = [960.0]  # the start of a minute window
    limiter = RateLimiter(clock=lambda: clock[0])
    rule = parse_rule("2/minute")
    assert [limiter.hit(("k",), rule)[0] for _ in range(3)] == [True, True, False]
    clock[0] += 60  # the previous window still weighs fully at the start of the next
    assert limiter.hit(("k",), rule)[0] is False
    clock[0] += 45  # three quarters through: 2 * 0.25 = 0.5 < 2
    assert limiter.hit(("k",), rule)[0] is True
    assert parse_rule("off") is None and parse_rule("10 per 5 second").period == 5
