"""Several instances on one PostgreSQL: `/replays status` sees them all, and a link change made
through one is honoured by the others at once (LISTEN/NOTIFY), or within the link cache's time
while an instance's listening connection is down.

The instances are `BotServer`s started in this process on the same database, as separate
processes would be; each has its own engine, caches and listening connection.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.compose import Tuning
from tests.e2e.conftest import RunningBot, StartBot, announced
from tests.fakes.block_kit import button_urls
from tests.fakes.databases import empty_postgres_database
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import (
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_MEETING_ID,
    SPEC_EXAMPLE_REPLAYS,
    SPEC_EXAMPLE_SUBJECT,
)
from tests.fakes.tencent_webhook import meeting_end_event

pytestmark = pytest.mark.slow  # several instances, one waiting out the link cache's time

SPEC_URL = SPEC_EXAMPLE_REPLAYS[0]["video_url"]
NOT_LINKED = "I don't know your Tencent Meeting account"
NINE = "<@U9|nine>"


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(message) for message in messages)


@pytest.fixture
async def postgres(postgres_session_database: str | None) -> str:
    if postgres_session_database is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    await empty_postgres_database(postgres_session_database)
    return postgres_session_database


@pytest.fixture
def nine(fake_slack: FakeSlack) -> str:
    """U9: a Slack user whose email no Tencent user has, so only an explicit link can help."""
    fake_slack.add_user("U9", email="nine@example.com", name="nine")
    return "U9"


def instance_id(bot: RunningBot) -> str:
    assert bot.server.running is not None
    return bot.server.running.heartbeat.instance.instance_id


async def sees_the_replay(bot: RunningBot, user: str) -> bool:
    """Whether `user`'s look-up of the example meeting through `bot` shows its replay."""
    messages = await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id=user)
    urls = [url for message in messages for url in button_urls(message)]
    if SPEC_URL in urls:
        return True
    assert NOT_LINKED in text_of(messages)
    return False


async def test_status_shows_both_instances_to_an_admin_and_refuses_others(
    start_bot: StartBot, postgres: str
) -> None:
    first = await start_bot(postgres)
    second = await start_bot(postgres)
    event = meeting_end_event(
        SPEC_EXAMPLE_MEETING_ID, SPEC_EXAMPLE_MEETING_CODE, SPEC_EXAMPLE_SUBJECT, "tester"
    )
    assert (await second.webhook(event))[0] == 200
    assert second.server.running is not None
    await second.server.running.heartbeat.settled()

    (card,) = await first.ask("status", user_id="UADMIN")
    shown = text_of([card])
    assert "Instances alive:* 2" in shown
    assert instance_id(first) in shown and instance_id(second) in shown
    assert f"`{instance_id(first)}`" in shown.split("(this one)")[0]
    assert "Last webhook delivery:*" in shown and "accepted" in shown
    assert f"instance `{instance_id(second)}`" in shown
    assert "*Tencent Meeting:* :white_check_mark:" in shown
    assert "*Slack:* :white_check_mark:" in shown
    assert "Tencent call budget (this instance, last minute):*" in shown
    assert "version" in shown

    refused = text_of(await first.ask("status", user_id="U1"))
    assert "Only bot admins can see the bot's status" in refused
    assert instance_id(first) not in refused


async def test_an_unlink_through_one_instance_is_honoured_by_the_other_on_its_next_command(
    start_bot: StartBot, postgres: str, nine: str
) -> None:
    first = await start_bot(postgres)
    second = await start_bot(postgres)
    assert "Done" in text_of(await first.ask(f"link {NINE} tester", user_id="UADMIN"))
    # The second instance reads the link and keeps it in memory (15 s by default) ...
    assert await sees_the_replay(second, nine)
    assert await sees_the_replay(second, nine)

    # ... and the unlink through the first reaches it before its next command, without waiting
    # for the link to expire (15 s).
    async with announced(second, "link"):
        assert "Done" in text_of(await first.ask(f"unlink {NINE}", user_id="UADMIN"))
    assert not await sees_the_replay(second, nine)

    # A new link is announced too (and replaces a link held in memory at once).
    async with announced(second, "link"):
        assert "Done" in text_of(await first.ask(f"link {NINE} tester", user_id="UADMIN"))
    assert await sees_the_replay(second, nine)


async def test_with_its_listener_cut_off_an_instance_still_honours_a_change_within_the_cache_time(
    start_bot: StartBot, postgres: str, nine: str
) -> None:
    link_ttl = 1.0
    first = await start_bot(postgres)
    # A slow reconnection, so that the change below lands while the listener is down.
    second = await start_bot(postgres, tuning=Tuning(link_ttl=link_ttl, listener_backoff=4.0))
    assert second.server.running is not None
    listener = second.server.running.changes
    assert listener is not None and listener.listening
    cut_off = listener.pid

    assert "Done" in text_of(await first.ask(f"link {NINE} tester", user_id="UADMIN"))
    assert await sees_the_replay(second, nine)

    engine = create_async_engine(postgres)
    try:
        async with engine.connect() as connection:
            killed = await connection.scalar(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": cut_off}
            )
            assert killed
    finally:
        await engine.dispose()
    async with asyncio.timeout(5):
        while True:
            if not listener.listening:
                break
            await asyncio.sleep(0.01)

    assert "Done" in text_of(await first.ask(f"unlink {NINE}", user_id="UADMIN"))
    unlinked_at = time.monotonic()
    while await sees_the_replay(second, nine):
        assert time.monotonic() - unlinked_at < link_ttl + 0.5, "the old link outlived its time"
        await asyncio.sleep(0.05)
    # Honoured through the cache's expiry: the listener was still away.
    assert not listener.listening

    # The listener comes back on a new connection, and changes reach the instance at once again.
    assert await listener.wait_listening(10)
    assert listener.pid not in (None, cut_off)
    async with announced(second, "link"):
        assert "Done" in text_of(await first.ask(f"link {NINE} tester", user_id="UADMIN"))
    assert await sees_the_replay(second, nine)
    async with announced(second, "link"):
        assert "Done" in text_of(await first.ask(f"unlink {NINE}", user_id="UADMIN"))
    assert not await sees_the_replay(second, nine)


async def test_sqlite_has_no_listener(bot: RunningBot) -> None:
    assert bot.server.running is not None
    assert bot.server.running.changes is None
