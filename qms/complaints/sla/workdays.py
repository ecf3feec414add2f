"""Working days from the `holidays` library, including China's adjusted working days (调休)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=128)
def _calendar(country: str, subdiv: str | None, year: int) -> holidays.HolidayBase:
    # The neighbouring years are loaded too because a swap can cross New Year (CN 2012's day
    # off on 3 January was worked on Saturday 31 December 2011) and the yearly notice that
    # records it belongs to the other year (recent releases look there themselves; this keeps
    # older ones right). expand=False keeps the cached object read-only, so threads may
    # share it.
    return holidays.country_holidays(
        country, subdiv=subdiv, years=range(year - 1, year + 2), expand=False)


def is_working_day(country: str, subdiv: str | None, day: date) -> bool:
    """Not a weekend or public holiday, or a weekend day that is an official working day.

    `HolidayBase.is_working_day` looks up `weekend_workdays`, which the library fills from the
    State Council's yearly notices for China (e.g. Sunday 2024-09-29 and Saturday 2024-10-12).
    """
    return _calendar(country, subdiv, day.year).is_working_day(day)


def roll_forward(country: str, subdiv: str | None, day: date) -> date:
    """`day` if it is a working day, otherwise the next working day."""
    while not is_working_day(country, subdiv, day):
        day += timedelta(days=1)
    return day


def add_working_days(country: str, subdiv: str | None, start: date, n: int) -> date:
    """The n-th working day after `start` (start itself is not counted)."""
    day = start
    for _ in range(n):
        day = roll_forward(country, subdiv, day + timedelta(days=1))
    return day
