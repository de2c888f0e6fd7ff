"""Durable state shared by every instance of the bot: SQLite or PostgreSQL via SQLAlchemy."""

from bot.store.records import DigestJob, Link, NewDigest, Subscription
from bot.store.store import ROW_ERRORS, Store

__all__ = ["ROW_ERRORS", "DigestJob", "Link", "NewDigest", "Store", "Subscription"]
