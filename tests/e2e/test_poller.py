"""Replay polling on the real app: without a webhook, subscribed codes are watched for new replays."""

from __future__ import annotations

import asyncio

from bot.core.records import DigestJob
from bot.i18n import t
from tests.e2e.conftest import RunningBot, StartBot
from tests.e2e.test_digests import posted
from tests.e2e.test_metrics import TOKEN, parse, scrape, value
from tests.fakes.block_kit import button_urls
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import FakeMeeting, FakeTencent

NEW_REPLAY = {"video_url": "https://meeting.tencent.com/l/new", "live_room_id": "500000002"}


def add_meeting(fake_tencent: FakeTencent) -> FakeMeeting:
    return fake_tencent.add_meeting(
        "1900004128969100001",
        "700000001",
        subject="Weekly",
        creator="tester",
        replays=[{"video_url": "https://meeting.tencent.com/l/old", "live_room_id": "500000001"}],
    )


async def jobs(bot: RunningBot, meeting_id: str) -> list[DigestJob]:
    assert bot.server.running is not None
    return await bot.server.running.database.storage.digest_jobs.for_meeting(meeting_id)


async def lookups_reach(meeting: FakeMeeting, count: int) -> None:
    async with asyncio.timeout(5):
        while True:  # the fake Tencent has no event to wait on: poll its counter
            if meeting.lookups >= count:
                return
            await asyncio.sleep(0.02)


async def test_without_a_webhook_new_replays_of_a_subscribed_code_are_posted_once(
    start_bot: StartBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    # A large Tencent budget lets the poller look every DIGEST_DELAY_SECONDS (0.05 s here).
    bot = await start_bot(
        tencent_webhook_token=None,
        tencent_webhook_aes_key=None,
        tencent_meeting_calls_per_minute=3000,
    )
    meeting = add_meeting(fake_tencent)
    (answer,) = await bot.ask(f"subscribe {meeting.meeting_code}", channel_id="C3")
    assert answer["text"] == t("subscribe_done_code", "en", code=meeting.meeting_code)

    # The replay that was there before anyone watched is known, not news.
    await lookups_reach(meeting, meeting.lookups + 3)
    assert [job.state for job in await jobs(bot, meeting.meeting_id)] == ["skipped"]
    assert fake_slack.posted == []

    meeting.replays.append(NEW_REPLAY)
    await fake_slack.wait_for_posts(2)
    await lookups_reach(meeting, meeting.lookups + 3)  # a few more rounds: nothing more to post

    assert [button_urls(post) for post in fake_slack.posts_to("C3")] == [[NEW_REPLAY["video_url"]]]
    assert [button_urls(post) for post in fake_slack.posts_to("DU1")] == [[NEW_REPLAY["video_url"]]]
    assert len(fake_slack.posted) == 2
    skipped, new = sorted(
        await jobs(bot, meeting.meeting_id), key=lambda job: job.state != "skipped"
    )
    assert skipped.state == "skipped" and posted(new)


async def test_polls_wait_in_the_budgets_background_lane_and_the_command_in_peoples(
    start_bot: StartBot, fake_tencent: FakeTencent
) -> None:
    bot = await start_bot(
        tencent_webhook_token=None,
        tencent_webhook_aes_key=None,
        tencent_meeting_calls_per_minute=3000,
        metrics_token=TOKEN,
    )
    meeting = add_meeting(fake_tencent)
    await bot.ask(f"subscribe {meeting.meeting_code}", channel_id="C3")
    calls_by_the_answer = len(fake_tencent.calls)
    await lookups_reach(meeting, meeting.lookups + 3)

    samples = parse((await scrape(bot))[1])
    waits = "replays_tencent_budget_wait_seconds_count"
    # The command's look-up (is the caller the code's creator?) is a person's; every look-up of
    # the poller's rounds since is background work.
    assert 1 <= value(samples, waits, lane="people") <= calls_by_the_answer
    assert value(samples, waits, lane="background") >= 3


async def test_with_a_webhook_configured_nothing_is_polled(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    meeting = add_meeting(fake_tencent)
    await bot.ask(f"subscribe {meeting.meeting_code}", channel_id="C3")
    looked = meeting.lookups
    meeting.replays.append(NEW_REPLAY)

    await asyncio.sleep(0.5)

    assert meeting.lookups == looked
    assert await jobs(bot, meeting.meeting_id) == []
    assert fake_slack.posted == []
