"""Digests across real `python -m bot` processes: a SIGKILL loses nothing, two instances share work.

The bots run as subprocesses configured only through the environment, as in production; the fakes
run in the test process, and the bots talk to them over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from bot.store import tables
from bot.store.engine import open_engine
from tests.e2e.conftest import SIGNING_SECRET, WEBHOOK_AES_KEY, WEBHOOK_TOKEN, bot_environment
from tests.fakes.block_kit import button_urls
from tests.fakes.databases import empty_postgres_database
from tests.fakes.slack import FakeSlack, SlackSender
from tests.fakes.tencent import (
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_MEETING_ID,
    SPEC_EXAMPLE_REPLAYS,
    SPEC_EXAMPLE_SUBJECT,
    FakeTencent,
)
from tests.fakes.tencent_webhook import deliver, meeting_end_event

pytestmark = pytest.mark.slow  # starts, kills and restarts python -m bot processes

READY_WITHIN = 30.0
POSTED_LINE = re.compile(r"digest for meeting (\d+) posted to")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def posted_meetings(self) -> list[str]:
        """The meetings whose digest this process logged as posted."""
        return POSTED_LINE.findall(self.log_text())

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        """SIGTERM, as a platform stops a dyno; the exit status once it has shut down."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                await self.kill()
        return int(self.process.returncode or 0)


Launch = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def launch(
    fake_slack: FakeSlack, fake_tencent: FakeTencent, tmp_path: Path
) -> AsyncIterator[Launch]:
    """Start `python -m bot` with the environment pointing at the fakes; ready when it returns."""
    started: list[BotProcess] = []
    numbers = itertools.count()

    async def start(database_url: str, **env: str) -> BotProcess:
        port, number = free_port(), next(numbers)
        environment = bot_environment(
            fake_slack, fake_tencent, database_url, tmp_path, port=port, **env
        )
        log = tmp_path / f"bot-{number}.log"
        with log.open("wb") as output:
            # cwd: a directory without a .env, so only this environment counts.
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                env=environment,
                cwd=tmp_path,
                stdout=output,
                stderr=output,
            )
        bot = BotProcess(process, f"http://127.0.0.1:{port}", log)
        started.append(bot)
        await wait_until_ready(bot)
        return bot

    yield start
    for bot in started:
        await bot.stop()


async def wait_until_ready(bot: BotProcess) -> None:
    async with aiohttp.ClientSession() as session:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_WITHIN
        while loop.time() < deadline:
            if bot.process.returncode is not None:
                pytest.fail(f"the bot exited with {bot.process.returncode}:\n{bot.log_text()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{bot.url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    pytest.fail(f"the bot was not ready within {READY_WITHIN}s:\n{bot.log_text()}")


async def subscribe(
    session: aiohttp.ClientSession, bot: BotProcess, fake_slack: FakeSlack, user: str, channel: str
) -> None:
    sender = SlackSender(session, bot.url, SIGNING_SECRET, fake_slack)
    reply = await sender.slash_command("subscribe", user_id=user, channel_id=channel)
    assert reply.status == 200, reply.text
    assert reply.response_url is not None
    (answer,) = await fake_slack.wait_for_response(reply.response_url)
    assert "Done" in answer["text"], answer


async def meeting_end(
    session: aiohttp.ClientSession, bot: BotProcess, event: dict[str, object]
) -> None:
    status, body = await deliver(
        session, f"{bot.url}/tencent/webhook", event, token=WEBHOOK_TOKEN, aes_key=WEBHOOK_AES_KEY
    )
    assert (status, body) == (200, "successfully received callback")


async def test_a_digest_survives_sigkill_and_is_posted_once_by_the_next_process(
    launch: Launch, fake_slack: FakeSlack, people: None, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'replays.db'}"
    first = await launch(database, DIGEST_DELAY_SECONDS="3")
    async with aiohttp.ClientSession() as session:
        await subscribe(session, first, fake_slack, "U1", "C1")
        event = meeting_end_event(
            SPEC_EXAMPLE_MEETING_ID, SPEC_EXAMPLE_MEETING_CODE, SPEC_EXAMPLE_SUBJECT, "tester"
        )
        await meeting_end(session, first, event)
    # Tencent heard 200, so it will not deliver again; the process dies before the first look-up.
    await first.kill()
    assert fake_slack.posted == []

    second = await launch(database, DIGEST_DELAY_SECONDS="0.05")
    await fake_slack.wait_for_posts(2, timeout=15)
    await asyncio.sleep(0.5)  # time for a duplicate, were there one

    urls = [replay["video_url"] for replay in SPEC_EXAMPLE_REPLAYS]
    assert [button_urls(post) for post in fake_slack.posts_to("C1")] == [urls]
    assert [button_urls(post) for post in fake_slack.posts_to("DU1")] == [urls]
    assert len(fake_slack.posted) == 2
    assert second.posted_meetings() == [SPEC_EXAMPLE_MEETING_ID]
    assert await second.stop() == 0


CREATORS = 40
MEETINGS = 200


async def test_two_processes_on_one_postgresql_post_each_of_200_digests_exactly_once(
    launch: Launch,
    fake_slack: FakeSlack,
    fake_tencent: FakeTencent,
    postgres_session_database: str | None,
) -> None:
    if postgres_session_database is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    await empty_postgres_database(postgres_session_database)
    # 40 creators, each subscribed in a channel of their own, 5 meetings each: Slack's pace of one
    # post per second per channel would make 200 posts to one channel take minutes.
    fake_tencent.add_user("admin", email="admin@example.com")
    creators = [f"creator{c:02d}" for c in range(CREATORS)]
    for c, creator in enumerate(creators):
        fake_tencent.add_user(creator, email=f"{creator}@example.com")
        fake_slack.add_user(f"UC{c:02d}", email=f"{creator}@example.com", name=creator)
    meetings = [
        fake_tencent.add_meeting(
            f"19000041289{i:08d}",
            f"{500_000_000 + i}",
            subject=f"Meeting {i}",
            creator=creators[i % CREATORS],
            replays=[{"video_url": f"https://meeting.tencent.com/l/m{i}", "live_room_id": f"{i}"}],
        )
        for i in range(MEETINGS)
    ]

    bots = await asyncio.gather(
        *(
            # Each instance keeps its own Tencent budget: half of the app's quota each.
            launch(
                postgres_session_database,
                DIGEST_DELAY_SECONDS="0",
                TENCENT_MEETING_CALLS_PER_MINUTE="150",
            )
            for _ in range(2)
        )
    )
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(
            *(
                subscribe(session, bots[c % 2], fake_slack, f"UC{c:02d}", f"C{c:02d}")
                for c in range(CREATORS)
            )
        )
        events = [
            meeting_end_event(m.meeting_id, m.meeting_code, m.subject, m.creator) for m in meetings
        ]
        await asyncio.gather(*(meeting_end(session, bots[i % 2], e) for i, e in enumerate(events)))

    # Each digest's look-up is two Tencent calls (live replays and cloud recordings), 400 in
    # all, which background work spends at the budget's pace: 300 a minute between the two.
    await fake_slack.wait_for_posts(2 * MEETINGS, timeout=150)
    await asyncio.sleep(0.5)  # time for a duplicate, were there one

    assert len(fake_slack.posted) == 2 * MEETINGS
    for c in range(CREATORS):
        mine = {f"https://meeting.tencent.com/l/m{i}" for i in range(c, MEETINGS, CREATORS)}
        for channel in (f"C{c:02d}", f"DUC{c:02d}"):
            urls = [url for post in fake_slack.posts_to(channel) for url in button_urls(post)]
            assert sorted(urls) == sorted(mine), channel
    # Both instances did part of the work, and no meeting was posted by both.
    by_process = [Counter(bot.posted_meetings()) for bot in bots]
    assert all(by_process), "one instance did all the work"
    assert sum(by_process, Counter()) == Counter(m.meeting_id for m in meetings)
    engine = await open_engine(postgres_session_database)
    try:
        async with engine.connect() as connection:
            jobs = (
                await connection.execute(
                    sa.select(tables.digest_jobs.c.state, tables.digest_jobs.c.posted_replays)
                )
            ).all()
            # Each posted its replay and follows its meeting on: later replays may still come.
            assert len(jobs) == MEETINGS
            assert all(state == "pending" and json.loads(keys) for state, keys in jobs)
    finally:
        await engine.dispose()
    assert [await bot.stop() for bot in bots] == [0, 0]
