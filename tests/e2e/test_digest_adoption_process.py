"""A real `python -m bot` SIGKILLed after Slack accepted a digest post but before the delivery was
recorded: the next process finds the post by its message metadata and does not post it again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.test_digest_processes import Launch, meeting_end, subscribe
from tests.e2e.test_digest_processes import launch as launch  # the fixture
from tests.fakes.slack import FakeSlack, Params
from tests.fakes.tencent import (
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_MEETING_ID,
    SPEC_EXAMPLE_SUBJECT,
)
from tests.fakes.tencent_webhook import meeting_end_event

pytestmark = pytest.mark.slow  # starts, kills and restarts python -m bot processes


async def test_sigkill_between_an_accepted_post_and_its_record_posts_once_after_a_restart(
    launch: Launch,
    people: None,
    fake_slack: FakeSlack,
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path / 'replays.db'}"
    first = await launch(database, DIGEST_DELAY_SECONDS="0.05")
    killed = asyncio.Event()

    async def kill_the_bot(post: Params) -> None:
        # Slack has stored the post; the bot dies before it hears so, let alone records it.
        if not killed.is_set():
            killed.set()
            await first.kill()

    async with aiohttp.ClientSession() as session:
        await subscribe(session, first, fake_slack, "U1", "C1")
        fake_slack.after_post = kill_the_bot
        event = meeting_end_event(
            SPEC_EXAMPLE_MEETING_ID, SPEC_EXAMPLE_MEETING_CODE, SPEC_EXAMPLE_SUBJECT, "tester"
        )
        await meeting_end(session, first, event)
        await asyncio.wait_for(killed.wait(), 15)
    fake_slack.after_post = None
    [first_post] = fake_slack.posted
    assert first_post["metadata"]["event_type"] == "tencent_meeting_replays"

    second = await launch(database, DIGEST_DELAY_SECONDS="0.05")
    # The job is taken up again once the dead process's lease runs out (30 s); the channel's
    # message is adopted, and the creator's DM, never posted, goes out.
    await fake_slack.wait_for_posts(2, timeout=60)
    await asyncio.sleep(2)  # room for a repeat, were there one
    assert len(fake_slack.posts_to("C1")) == 1
    assert len(fake_slack.posts_to("DU1")) == 1
    assert await second.stop() == 0
