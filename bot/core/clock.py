"""The wall clock the app stamps things with: aware UTC datetimes, never naive ones."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, with its time zone (the storages refuse naive datetimes)."""
    return datetime.now(UTC)
