"""Durable state shared by every instance of the bot: the storage Protocols of `bot.core.storage`
on SQLite or PostgreSQL via SQLAlchemy (`open_database`), or in memory (`bot.store.memory`).

The SQL side is imported on first use, so that `bot.store.memory` (the core's fast tests) loads
neither SQLAlchemy nor a database driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.store.database import Database, open_database

__all__ = ["Database", "open_database"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("bot.store.database"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
