"""Database failures leave `bot.store` only as the core's `StorageUnavailable` (try again later)
or `StorageRejected` (these values will never do), chained to what the driver raised."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.core.group_commit import GroupCommit
from bot.core.records import EndedMeeting, LinkMethod, NewDigest
from bot.core.storage import StorageRejected, StorageUnavailable
from bot.store import Database, open_database
from bot.store.engine import create_engine
from tests.fakes.databases import postgres_server_url

T0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)
needs_postgres = pytest.mark.skipif(
    postgres_server_url() is None, reason="TEST_DATABASE_URL is not set"
)


def nowhere_url() -> str:
    """A PostgreSQL URL on a port where nothing listens."""
    return "postgresql+asyncpg://postgres@127.0.0.1:1/test"


@pytest.fixture
async def unreachable() -> AsyncIterator[Database]:
    database = await open_database(nowhere_url(), migrate=False)
    try:
        yield database
    finally:
        await database.close()


async def test_a_refused_connection_is_storage_unavailable(unreachable: Database) -> None:
    with pytest.raises(StorageUnavailable) as raised:
        await unreachable.storage.links.get("T1", "U1")
    assert isinstance(raised.value.__cause__, OSError)

    with pytest.raises(StorageUnavailable):
        await unreachable.storage.events.first_sighting("slack-event:Ev1")
    with pytest.raises(StorageUnavailable):
        await unreachable.storage.digest_jobs.next_due()
    assert await unreachable.ping() is False


async def test_opening_an_unreachable_database_is_storage_unavailable() -> None:
    with pytest.raises(StorageUnavailable):
        await open_database(nowhere_url())


async def test_an_unopenable_sqlite_file_is_storage_unavailable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'bot.db'}"
    with pytest.raises(StorageUnavailable) as raised:
        await open_database(url)
    assert isinstance(raised.value.__cause__, sa.exc.OperationalError)
    await aiosqlite_threads_ended()


async def aiosqlite_threads_ended() -> None:
    """Let aiosqlite's worker threads finish: after a failed connect, its thread stops on its own
    and then reports to the event loop, which must still be running (it ends with the test)."""
    for _ in range(200):
        workers = [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]
        if not workers:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"aiosqlite threads still running: {workers}")


async def test_a_database_that_does_not_exist_is_storage_unavailable() -> None:
    server = postgres_server_url()
    if server is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    missing = make_url(server).set(database="replays_no_such_database")
    database = await open_database(missing.render_as_string(hide_password=False), migrate=False)
    try:
        with pytest.raises(StorageUnavailable):
            await database.storage.preferences.dm_digests_enabled("T1", "U1")
    finally:
        await database.close()


@needs_postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_nul_character_is_storage_rejected_on_postgresql(database: Database) -> None:
    links = database.storage.links
    with pytest.raises(StorageRejected) as raised:
        await links.save("T1", "U1", "ali\x00ce", method=LinkMethod.ADMIN, linked_by="UADMIN")
    assert isinstance(raised.value.__cause__, sa.exc.DBAPIError)
    assert "0x00" in str(raised.value)
    assert await links.get("T1", "U1") is None
    # The database is fine: the next call with good values succeeds.
    await links.save("T1", "U1", "alice", method=LinkMethod.ADMIN, linked_by="UADMIN")


@needs_postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_job_postgresql_refuses_fails_alone_in_a_group_commit(database: Database) -> None:
    def job(key: str) -> NewDigest:
        return NewDigest(EndedMeeting(key, "m1", "123456789", "Weekly sync", "alice"), T0)

    intake = GroupCommit(database.storage.digest_jobs.enqueue, split_on=(StorageRejected,))
    results = await asyncio.gather(
        *(intake.submit(job(key)) for key in ("a", "b\x00ad", "c")), return_exceptions=True
    )

    assert results[0] is True and results[2] is True
    assert isinstance(results[1], StorageRejected)
    jobs = await database.storage.digest_jobs.for_meeting("m1")
    assert sorted(j.meeting.occurrence_key for j in jobs) == ["a", "c"]


async def test_an_unreachable_database_is_logged_once_however_often_it_is_asked(
    unreachable: Database, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        with pytest.raises(StorageUnavailable):
            await unreachable.storage.links.get("T1", "U1")
        assert await unreachable.ping() is False
    outage = [r for r in caplog.records if r.name == "bot.core.outage"]
    assert [r.levelname for r in outage] == ["WARNING"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]


async def test_a_database_that_answers_again_ends_the_outage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.core.outage")
    folder = tmp_path / "not-yet"
    database = Database(create_engine(f"sqlite+aiosqlite:///{folder / 'bot.db'}"))
    try:
        with pytest.raises(StorageUnavailable):
            await database.storage.links.get("T1", "U1")
        assert await database.ping() is False
        folder.mkdir()  # the database can be opened from now on
        assert await database.ping() is True
        assert await database.ping() is True
    finally:
        await database.close()
        await aiosqlite_threads_ended()
    outage = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.core.outage"]
    assert [level for level, _ in outage] == ["WARNING", "INFO"]
    assert outage[1][1].startswith("database available again after")
