"""The database stopped for ten seconds under traffic: what memory can answer is answered, what needs
the database says it is temporarily unavailable (in the asker's language), the log has one WARNING
for the outage and no traceback, and everything works again once the database is back."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.compose import Tuning
from bot.i18n import t
from tests.e2e.conftest import RunningBot, StartBot, answered_in_ack
from tests.fakes.block_kit import button_urls
from tests.fakes.databases import fresh_database_url, postgres_server_url
from tests.fakes.slack import FakeSlack
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.tencent import FakeTencent

pytestmark = [
    pytest.mark.slow,  # waits out a ten-second outage
    # A TCP proxy between the bot and its server is the outage; SQLite is a file, with no server
    # to stop.
    pytest.mark.skipif(postgres_server_url() is None, reason="TEST_DATABASE_URL is not set"),
]

CHANNEL = "C1"
CODE = "512345678"
REPLAY = "https://meeting.tencent.com/l/outage-drill"
OUTAGE_SECONDS = 10.0
UNAVAILABLE_EN = t("storage_unavailable", "en")
UNAVAILABLE_ZH = t("storage_unavailable", "zh")


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(message) for message in messages)


async def mention(bot: RunningBot, text: str) -> list[dict[str, Any]]:
    """A mention of the bot by U1 in CHANNEL, and what was said in its thread."""
    fake = bot.fake_slack
    ts = fake.next_ts()
    assert (await bot.slack.app_mention(text, user_id="U1", channel=CHANNEL, ts=ts)).status == 200

    def in_thread() -> list[dict[str, Any]]:
        return [m for m in fake.posted + fake.ephemerals if m.get("thread_ts") == ts]

    await fake.wait_until(lambda: bool(in_thread()), timeout=10)
    return in_thread()


async def one_round(bot: RunningBot) -> None:
    """Every kind of question once, as the outage goes on."""
    # U1's look-up, answered a moment ago, is in memory: its card, inside the acknowledgement.
    cached = await bot.command(CODE)
    assert answered_in_ack(cached), cached.text
    assert button_urls(cached.json()) == [REPLAY]
    # ... and in a thread, where nothing is answered inside an acknowledgement.
    assert button_urls((await mention(bot, CODE))[0]) == [REPLAY]
    # U1's link is in memory: their help too.
    assert "/replays link" in text_of(await bot.ask("help"))
    # Subscribing writes to the database: it says so, not "something went wrong".
    said = text_of(await bot.ask("subscribe", channel_id=CHANNEL))
    assert UNAVAILABLE_EN in said
    # Who UZH is must be read from the database: they are told so, in Chinese.
    assert UNAVAILABLE_ZH in text_of(await bot.ask(CODE, user_id="UZH"))
    # Help needs no database: it is answered, saying why the link cannot be told.
    help_zh = text_of(await bot.ask("help", user_id="UZH"))
    assert t("status_storage_unavailable", "zh") in help_zh
    # The health check says the database is away.
    async with bot.session.get(f"{bot.url}/healthz") as response:
        assert response.status == 503


async def test_a_ten_second_database_outage_answers_from_memory_and_says_what_it_is(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_tencent: FakeTencent,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    fake_tencent.add_meeting(
        "7300000000000000001",
        CODE,
        subject="Outage drill",
        creator="tester",
        replays=[{"live_room_id": "1", "video_url": REPLAY}],
    )
    async with fresh_database_url("postgresql", tmp_path) as database_url:
        url = make_url(database_url)
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        await proxy.start()
        # Links are kept in memory for longer than the outage, so that U1's stays known.
        bot = await start_bot(
            url.set(port=proxy.port).render_as_string(hide_password=False),
            tuning=Tuning(link_ttl=60.0),
        )
        assert "Done" in text_of(await bot.ask("link tester"))
        assert REPLAY in str([button_urls(m) for m in await bot.ask(CODE)])
        assert answered_in_ack(await bot.command(CODE))  # kept in memory from now on
        await bot.idle()

        await proxy.stop()  # the database server goes away: connections cut, then refused
        stopped = time.monotonic()
        rounds = 0
        while time.monotonic() - stopped < OUTAGE_SECONDS:
            await one_round(bot)
            rounds += 1
            await asyncio.sleep(1.0)
        assert rounds >= 3
        await proxy.start()

        # Back: what needed the database works again, at once.
        assert "Done" in text_of(await bot.ask("subscribe", channel_id=CHANNEL))
        # UZH, not linked, asks about U1's meeting: only its creator may see it (read from the
        # database again), not "temporarily unavailable".
        back = text_of(await bot.ask(CODE, user_id="UZH"))
        assert "<@U1>" in back and UNAVAILABLE_ZH not in back
        async with bot.session.get(f"{bot.url}/healthz") as response:
            assert response.status == 200
        await bot.server.stop(drain_timeout=5)
        await proxy.stop()

    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r.getMessage() for r in caplog.records if r.exc_info]
    outage = [r for r in caplog.records if r.name == "bot.core.outage"]
    assert [r.levelname for r in outage] == ["WARNING", "INFO"], [r.getMessage() for r in outage]
    assert "available again" in outage[1].getMessage()
