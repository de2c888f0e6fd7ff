"""Polling serves "all my meetings": without a webhook, two bots on one PostgreSQL database read
the subscribers' ended-meetings history and post each meeting's digest once.

U1 is Tencent user `tester` (by email). The bots run in this process (two `BotServer`s), each
with its own engine and poller, as two instances would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.core.records import DigestJob
from bot.i18n import t
from bot.store import tables
from bot.store.engine import open_engine
from tests.e2e.conftest import RunningBot, StartBot
from tests.e2e.test_digests import following, posted
from tests.fakes.block_kit import button_urls
from tests.fakes.databases import fresh_database_url
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import FakeMeeting, FakeTencent

HISTORY_PATH = "/v1/history/meetings/tester"


@pytest.fixture
async def postgres_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database_url("postgresql", tmp_path) as url:
        yield url


def add_ended(
    fake_tencent: FakeTencent,
    n: int,
    *,
    ended_ago: timedelta,
    creator: str = "tester",
    attendees: tuple[str, ...] = (),
) -> FakeMeeting:
    end = datetime.now(UTC) - ended_ago
    return fake_tencent.add_meeting(
        f"19000041289693{n:05d}",
        f"{720_000_000 + n}",
        subject=f"History {n}",
        creator=creator,
        replays=[{"video_url": f"https://meeting.tencent.com/l/h{n}", "live_room_id": f"{n}"}],
        start=end - timedelta(hours=1),
        end=end,
        attendees=attendees,
    )


async def jobs(bot: RunningBot, meeting_id: str) -> list[DigestJob]:
    assert bot.server.running is not None
    return await bot.server.running.database.storage.digest_jobs.for_meeting(meeting_id)


async def settled(bot: RunningBot, meeting_id: str) -> DigestJob:
    """The meeting's one digest job once it has ended or posted and follows the meeting on
    (10 s at most)."""
    async with asyncio.timeout(10):
        while True:
            found = await jobs(bot, meeting_id)
            if found and all(job.state != "pending" or following(job) for job in found):
                (job,) = found
                return job
            await asyncio.sleep(0.02)


async def history_calls_reach(fake_tencent: FakeTencent, count: int) -> None:
    async with asyncio.timeout(10):
        while True:  # the fake Tencent has no event to wait on: poll its record of calls
            if sum(call.path == HISTORY_PATH for call in fake_tencent.calls) >= count:
                return
            await asyncio.sleep(0.02)


@pytest.mark.slow
async def test_two_pollers_on_postgresql_post_an_ended_meeting_of_an_all_meetings_subscription_once(
    start_bot: StartBot, fake_slack: FakeSlack, fake_tencent: FakeTencent, postgres_url: str
) -> None:
    no_webhook = {
        "tencent_webhook_token": None,
        "tencent_webhook_aes_key": None,
        "tencent_meeting_calls_per_minute": 3000,
    }
    first = await start_bot(postgres_url, **no_webhook)
    second = await start_bot(postgres_url, **no_webhook)
    (answer,) = await first.ask("subscribe", channel_id="CH")
    assert answer["text"] == t("subscribe_done_mine", "en")

    mine = add_ended(fake_tencent, 1, ended_ago=timedelta(minutes=2))
    # in tester's history too, but someone else's: Tencent refuses its replays to tester
    attended = add_ended(
        fake_tencent, 2, ended_ago=timedelta(minutes=3), creator="other", attendees=("tester",)
    )
    # ended before the first window (DIGEST_GIVE_UP_SECONDS back): never a job
    too_old = add_ended(fake_tencent, 3, ended_ago=timedelta(hours=7))
    before = sum(call.path == HISTORY_PATH for call in fake_tencent.calls)

    job = await settled(first, mine.meeting_id)
    await history_calls_reach(fake_tencent, before + 10)  # many more rounds, by both bots

    assert posted(job)
    # the key a meeting.end webhook would give it: a webhook and a poller never make two jobs
    assert job.meeting.occurrence_key == f"meeting.end:{mine.meeting_id}:{mine.start_time}"
    assert job.meeting.creator_userid == "tester"
    mine_urls = [mine.replays[0]["video_url"]]
    assert [button_urls(post) for post in fake_slack.posts_to("CH")] == [mine_urls]
    assert [button_urls(post) for post in fake_slack.posts_to("DU1")] == [mine_urls]
    assert len(fake_slack.posted) == 2
    assert (await settled(first, attended.meeting_id)).state == "failed"
    assert await jobs(first, too_old.meeting_id) == []

    # Every history query sent both bounds; the window is kept per creator, only moved forward.
    for bot in (first, second):
        await bot.server.stop(drain_timeout=5)
    history = [call for call in fake_tencent.calls if call.path == HISTORY_PATH]
    assert all({"start_time", "end_time"} <= call.query.keys() for call in history)
    engine = await open_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(sa.select(tables.poll_windows))).all()
    finally:
        await engine.dispose()
    assert [row.tencent_userid for row in rows] == ["tester"]
    newest_end = max(int(call.query["end_time"]) for call in history)
    assert int(rows[0].window_end.timestamp()) == newest_end
