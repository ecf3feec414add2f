"""Redirect targets taken from requests: only paths on this site."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a plain path on this site, else `default`.

    Browsers drop tabs and newlines and read a backslash as a slash, so '/\\t/evil' and
    '/\\evil' would leave the site: anything with control characters or backslashes is refused
    before the usual scheme/host check. An open redirect after sign-in is a phishing aid.
    """
    if not target or _UNSAFE.search(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
