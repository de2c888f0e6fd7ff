"""Alembic environment: runs on the connection that `bot.store.migrate` hands over.

The application never reads an alembic.ini: `bot.store.migrate.upgrade` passes an open connection,
already inside a transaction and holding the migration lock, through `config.attributes`. The
command line (`alembic -c bot/store/migrations/alembic.ini -x url=... revision --autogenerate`,
for writing new revisions) goes through the same lock with a connection of its own.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from bot.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table and keeps its rows.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_from_command_line() -> None:
    from bot.config import normalize_database_url
    from bot.store.engine import open_engine
    from bot.store.migrate import run_locked

    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise RuntimeError("pass the database with -x url=sqlite:///replays-bot.db")

    async def run() -> None:
        engine = await open_engine(normalize_database_url(url))
        try:
            await run_locked(engine, _run)
        finally:
            await engine.dispose()

    asyncio.run(run())


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")

_connection = context.config.attributes.get("connection")
if _connection is None:
    _run_from_command_line()
else:
    _run(_connection)
