"""The bot under trouble: Tencent failing, hanging and over quota, the database away, Slack 429s,
and a shutdown in the middle of work. Nothing may crash and nobody may be left without an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.conftest import RunningBot, StartBot
from tests.fakes.block_kit import button_urls
from tests.fakes.databases import postgres_server_url
from tests.fakes.slack import RESPONSE_URL, FakeSlack
from tests.fakes.tencent import (
    OVER_QUOTA,
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_REPLAYS,
    FakeTencent,
)

CHANNEL = "C1"
#: what a person may read instead of their replays when something is wrong: each says what and
#: that trying again later helps
CLEAR_ERRORS = (
    "Tencent Meeting isn't answering",
    "Tencent Meeting's request quota is used up right now",
    "Something went wrong on my side. Please try again in a minute.",
    "My database is temporarily unavailable",
)


def replay_url(n: int) -> str:
    return f"https://meeting.tencent.com/l/fault{n}"


def code(n: int) -> str:
    return f"9{n:08d}"


def add_meetings(fake: FakeTencent, count: int) -> None:
    for n in range(count):
        fake.add_meeting(
            f"71000000000000{n:05d}",
            code(n),
            subject=f"Fault drill {n}",
            creator="tester",
            replays=[{"live_room_id": str(n), "live_subject": "drill", "video_url": replay_url(n)}],
        )


@dataclass
class Asked:
    """One question and where its answer must show up."""

    n: int
    kind: str  # "command" or "mention"
    status: int
    response_url: str | None = None
    thread_ts: str | None = None


class Drill:
    """Sends commands and mentions about meeting n, and checks each got an answer."""

    def __init__(self, bot: RunningBot) -> None:
        self.bot = bot
        self.asked: list[Asked] = []

    async def command(self, n: int) -> None:
        reply = await self.bot.command(code(n))
        self.asked.append(Asked(n, "command", reply.status, response_url=reply.response_url))

    async def mention(self, n: int) -> None:
        ts = self.bot.fake_slack.next_ts()
        reply = await self.bot.slack.app_mention(code(n), user_id="U1", channel=CHANNEL, ts=ts)
        self.asked.append(Asked(n, "mention", reply.status, thread_ts=ts))

    async def all(self, *questions: Any) -> None:
        await asyncio.gather(*questions)

    async def answers(self) -> dict[int, str]:
        """Meeting n → everything its asker was shown; fails if anyone got nothing."""
        fake = self.bot.fake_slack
        for asked in self.asked:
            assert asked.status == 200, asked
            if asked.response_url:
                await fake.wait_for_response(asked.response_url, timeout=30)
            else:
                await fake.wait_until(functools.partial(_answered, fake, asked.thread_ts), 30)
        await self.bot.idle()
        shown: dict[int, str] = {}
        for asked in self.asked:
            if asked.response_url:
                messages = fake.responses[asked.response_url.rsplit("/", 1)[-1]]
            else:
                messages = _in_thread(fake, asked.thread_ts)
            shown[asked.n] = "\n".join(
                [str(m) for m in messages] + [u for m in messages for u in button_urls(m)]
            )
        return shown


def _answered(fake: FakeSlack, thread_ts: str | None) -> bool:
    return bool(_in_thread(fake, thread_ts))


def _in_thread(fake: FakeSlack, thread_ts: str | None) -> list[dict[str, Any]]:
    posts = [p for p in fake.posted if p.get("thread_ts") == thread_ts]
    return posts + [e for e in fake.ephemerals if e.get("thread_ts") == thread_ts]


def assert_answered(shown: dict[int, str], *, must_work: Collection[int] = ()) -> None:
    for n, text in shown.items():
        if replay_url(n) in text:
            continue
        assert n not in must_work, f"meeting {n} should have worked: {text[:300]}"
        assert any(error in text for error in CLEAR_ERRORS), f"meeting {n}: {text[:300]}"


def _token(response_url: str | None) -> str:
    assert response_url is not None
    return response_url.rsplit("/", 1)[-1]


def share_value(messages: list[dict[str, Any]]) -> str:
    """The value of the "Share in channel" button of a look-up's answer."""
    return next(
        element["value"]
        for message in messages
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == "share_replays"
    )


async def healthz(bot: RunningBot) -> int:
    async with bot.session.get(f"{bot.url}/healthz") as response:
        return response.status


@contextlib.asynccontextmanager
async def database_unavailable(database_url: str) -> AsyncIterator[None]:
    """No connection to the bot's PostgreSQL database is possible inside this block."""
    server = postgres_server_url()
    assert server is not None
    name = make_url(database_url).database
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as admin:
            await admin.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            await admin.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
        try:
            yield
        finally:
            async with engine.connect() as admin:
                await admin.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_thirty_questions_through_every_kind_of_trouble(
    start_bot: StartBot, database_url: str, fake_tencent: FakeTencent, fake_slack: FakeSlack
) -> None:
    add_meetings(fake_tencent, 40)
    bot = await start_bot(database_url)
    assert "Done" in str(await bot.ask("link tester"))
    drill = Drill(bot)

    # Tencent answers 503 five times and then hangs twice, while Slack rate-limits both the
    # first thread answers and the first response_url posts.
    fake_tencent.fail_next(5, status=503)
    fake_tencent.hang_next(2)
    fake_slack.rate_limit_next("chat.postMessage", 2)
    fake_slack.rate_limit_next(RESPONSE_URL, 3)
    await drill.all(*(drill.command(n) for n in range(8)), *(drill.mention(n) for n in (8, 9, 10)))
    # Later questions work normally.
    await drill.all(*(drill.command(n) for n in (11, 12, 13)))
    assert_answered(await drill.answers(), must_work={11, 12, 13})
    # Every injected fault was met: five 503s, two calls never answered, and Slack's 429s.
    assert sum(call.status == 503 for call in fake_tencent.calls) == 5
    assert sum(call.status is None for call in fake_tencent.calls) == 2
    assert len(fake_slack.limited_responses) == 3

    if make_url(database_url).get_backend_name() == "postgresql":
        share = share_value(fake_slack.responses[_token(drill.asked[-1].response_url)])
        drill.asked.clear()
        async with database_unavailable(database_url):
            await drill.all(*(drill.command(n) for n in (14, 15, 16, 17)), drill.mention(18))
            shown = await drill.answers()
            assert await healthz(bot) == 503
            click = await bot.slack.block_action(
                "share_replays", share, user_id="U1", channel_id=CHANNEL
            )
            assert click.status == 200 and click.response_url
            [clicked] = await fake_slack.wait_for_response(click.response_url)
            # What needs the database itself says that it is unavailable.
            assert "My database is temporarily unavailable" in str(await bot.ask("whoami"))
        # A look-up is answered with its replays while U1's link is still in memory (read within
        # the last 15 s), else with the clear error: never nothing, never a crash.
        assert_answered(shown)
        if not button_urls(clicked):
            assert "My database is temporarily unavailable" in str(clicked)
        assert await healthz(bot) == 200  # back as soon as the database is
        drill.asked.clear()
        await drill.all(*(drill.command(n) for n in (19, 20, 21)), drill.mention(22))
        assert_answered(await drill.answers(), must_work={19, 20, 21, 22})

    # Over Tencent's quota: the answers say so (the app then pauses its Tencent calls a minute).
    drill.asked.clear()
    fake_tencent.fail_next(1, status=429, error_code=OVER_QUOTA)
    await drill.all(*(drill.command(n) for n in range(23, 30)), drill.mention(30))
    shown = await drill.answers()
    assert_answered(shown)
    assert any("request quota is used up" in text for text in shown.values())

    assert await healthz(bot) == 200
    assert fake_slack.rejected == []


@pytest.fixture
async def linked(bot: RunningBot) -> RunningBot:
    assert "Done" in str(await bot.ask("link tester"))
    return bot


async def test_a_lookup_in_flight_at_shutdown_still_gets_its_answer(linked: RunningBot) -> None:
    bot, fake = linked, linked.fake_slack
    bot.fake_tencent.latency = 0.5
    command = await bot.command(f"refresh {SPEC_EXAMPLE_MEETING_CODE}")
    mention_ts = fake.next_ts()
    mention = await bot.slack.app_mention(
        f"refresh {SPEC_EXAMPLE_MEETING_CODE}", user_id="U1", channel=CHANNEL, ts=mention_ts
    )
    assert command.status == mention.status == 200
    assert command.response_url is not None
    token = command.response_url.rsplit("/", 1)[-1]
    assert not fake.responses.get(token) and not fake.posts_to(CHANNEL), "still to answer"

    await bot.server.stop()

    answered = fake.responses[token]
    assert SPEC_EXAMPLE_REPLAYS[0]["video_url"] in [u for m in answered for u in button_urls(m)]
    [post] = fake.posts_to(CHANNEL)
    assert post["thread_ts"] == mention_ts
    assert SPEC_EXAMPLE_REPLAYS[0]["video_url"] in button_urls(post)


async def test_requests_arriving_during_shutdown_are_turned_away_not_dropped(
    linked: RunningBot,
) -> None:
    bot = linked
    bot.fake_tencent.latency = 0.5
    slow = await bot.command(f"refresh {SPEC_EXAMPLE_MEETING_CODE}")
    assert slow.status == 200
    stopping = asyncio.create_task(bot.server.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done(), "still draining the slow look-up"
    # Refused at the door (a balancer or Slack's retry goes elsewhere), rather than acknowledged
    # by a server about to close the sessions the answer needs.
    with pytest.raises(aiohttp.ClientConnectionError):
        await bot.command("whoami")
    await stopping
    assert slow.response_url is not None
    assert bot.fake_slack.responses[slow.response_url.rsplit("/", 1)[-1]]


@contextlib.asynccontextmanager
async def writes_blocked(database_url: str) -> AsyncIterator[None]:
    """Inside this block the bot's database writes wait (another connection holds the lock)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        # A second writer waits out SQLite's busy timeout while this one holds the write lock.
        holder = sqlite3.connect(url.database or "", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        return
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text("LOCK TABLE seen_events IN EXCLUSIVE MODE"))
            yield
    finally:
        await engine.dispose()


async def test_a_mention_still_being_deduplicated_at_shutdown_gets_its_answer(
    start_bot: StartBot, database_url: str
) -> None:
    bot = await start_bot(database_url)
    assert "Done" in str(await bot.ask("link tester"))
    mention_ts = bot.fake_slack.next_ts()
    async with writes_blocked(database_url):
        # Acknowledged at once; the answer waits for its event ID to be recorded.
        reply = await bot.slack.app_mention(
            SPEC_EXAMPLE_MEETING_CODE, user_id="U1", channel=CHANNEL, ts=mention_ts
        )
        assert reply.status == 200
        stopping = asyncio.create_task(bot.server.stop())
        await asyncio.sleep(0.3)
        assert not stopping.done(), "shutdown waits for the mention being deduplicated"
    await stopping
    [post] = bot.fake_slack.posts_to(CHANNEL)
    assert post["thread_ts"] == mention_ts
    assert SPEC_EXAMPLE_REPLAYS[0]["video_url"] in button_urls(post)
