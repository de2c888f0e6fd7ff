"""Alembic revisions: upgrades keep data, concurrent starts are safe, head matches tables.py."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import Store
from bot.store.engine import open_engine
from bot.store.migrate import current_revision, downgrade, head_revision, upgrade
from bot.store.tables import metadata


async def dump(engine: AsyncEngine, *tables: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of `tables`, as the database returns them, in a stable order."""
    async with engine.connect() as connection:
        return {
            table: sorted(
                tuple(row) for row in await connection.execute(sa.text(f"SELECT * FROM {table}"))
            )
            for table in tables
        }


async def test_open_migrates_an_empty_database_to_head(database_url: str) -> None:
    store = await Store.open(database_url)
    try:
        assert head_revision() == "0002"
        assert await current_revision(store.engine) == "0002"
    finally:
        await store.close()


async def test_a_populated_0001_database_keeps_every_row_through_the_upgrade(
    database_url: str,
) -> None:
    engine = await open_engine(database_url)
    await upgrade(engine, "0001")
    # The 0001-era app wrote through the same API, on the schema of its day.
    old_app = Store(engine)
    links = [
        await old_app.save_link("T1", f"U{i}", f"user{i % 7}", method=m, linked_by="UADMIN")
        for i, m in enumerate(["self_verified", "admin", "email_match"] * 10)
    ]
    for i in range(25):
        assert await old_app.first_sighting(f"slack:Ev{i}")
    before = await dump(engine, "links", "seen_events")
    await old_app.close()

    new_app = await Store.open(database_url)
    try:
        assert await current_revision(new_app.engine) == "0002"
        assert await dump(new_app.engine, "links", "seen_events") == before
        assert [await new_app.get_link("T1", f"U{i}") for i in range(30)] == links
        assert await new_app.links_for_tencent_user("user3") == [
            link
            for link in sorted(links, key=lambda x: x.slack_user_id)
            if link.tencent_userid == "user3"
        ]
        assert not any([await new_app.first_sighting(f"slack:Ev{i}") for i in range(25)])
        # And the tables 0002 added work on the upgraded database.
        assert await new_app.subscribe("T1", "C1", "user3", None, created_by="U3")
    finally:
        await new_app.close()


async def test_downgrade_to_0001_and_back_keeps_links(database_url: str) -> None:
    store = await Store.open(database_url)
    try:
        saved = await store.save_link("T1", "U1", "alice", method="admin", linked_by="UADMIN")
        await downgrade(store.engine, "0001")
        assert await current_revision(store.engine) == "0001"
        await upgrade(store.engine)
        assert await store.get_link("T1", "U1") == saved
    finally:
        await store.close()


async def test_instances_starting_together_migrate_once(database_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(database_url) for _ in range(4)))
    try:
        assert [await current_revision(s.engine) for s in stores] == ["0002"] * 4
        assert await stores[0].first_sighting("k") and not await stores[3].first_sighting("k")
    finally:
        for store in stores:
            await store.close()


async def test_head_schema_is_exactly_tables_py(store: Store) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with store.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
