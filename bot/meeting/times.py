"""Tencent's times, in every spelling seen so far, read leniently as aware UTC datetimes.

A time only decorates a meeting, so an unreadable one reads as None rather than costing the
page or the event it came in.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

#: Above this a Unix time is in milliseconds (1e11 seconds is the year 5138).
_MILLISECONDS_THRESHOLD = 100_000_000_000
# Tencent writes wall-clock times ("2020-12-29 17:41:04") in China Standard Time, which has no DST.
CHINA_TIME = timezone(timedelta(hours=8), "CST")
_WALL_CLOCK_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def unix_time(value: Any) -> datetime | None:
    """Unix seconds or milliseconds (int, float or their text) as an aware UTC datetime.

    0 (Tencent's "not known yet"), negative, empty and non-numeric values read as None.
    """
    if isinstance(value, datetime):
        # Built in code rather than read from Tencent: a naive one is taken as UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    seconds = value / 1000 if value >= _MILLISECONDS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def tencent_time(value: Any) -> datetime | None:
    """A Unix time as `unix_time` reads it, or a China Standard Time wall-clock text."""
    moment = unix_time(value)
    if moment is not None or not isinstance(value, str):
        return moment
    for fmt in _WALL_CLOCK_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=CHINA_TIME).astimezone(UTC)
        except (ValueError, OverflowError):
            continue
    return None
