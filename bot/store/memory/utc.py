"""How the in-memory stores take datetimes: as the databases do, aware ones only, kept in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.storage import StorageRejected


def stored_utc(value: datetime) -> datetime:
    """`value` in UTC, as the database hands it back; a naive one is refused, as the SQL stores
    refuse it (it would mean UTC on SQLite and local time on PostgreSQL)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StorageRejected(f"naive datetime {value!r}: pass an aware UTC datetime")
    return value.astimezone(UTC)
