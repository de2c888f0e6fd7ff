"""Digests end to end: Tencent's `meeting.end` webhook in, Slack posts out, on the real app.

U1 is Tencent user `tester` (by email), the creator of every meeting here. What is asserted is what
Slack shows (FakeSlack.posted) and, where nothing is shown, how the job ended.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot.core.records import DigestJob
from bot.i18n import t
from tests.e2e.conftest import RunningBot, StartBot
from tests.fakes.block_kit import button_urls
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import (
    SPEC_EXAMPLE_MEETING_ID,
    SPEC_EXAMPLE_REPLAYS,
    FakeMeeting,
    FakeTencent,
)
from tests.fakes.tencent_webhook import meeting_end_event

#: a fixed start, so that repeated ends of one occurrence carry the same start time
START = 1_764_064_800
DM_U1 = "DU1"


def add_meeting(
    fake_tencent: FakeTencent, n: int, *, replays: int = 2, appear_after: int = 0
) -> FakeMeeting:
    """Meeting number `n` of `tester`, with `replays` distinct replays."""
    rows = [
        {
            "video_url": f"https://meeting.tencent.com/l/m{n}r{k}",
            "live_subject": f"Meeting {n} part {k}",
            "live_room_id": f"{300_000_000 + n * 10 + k}",
        }
        for k in range(1, replays + 1)
    ]
    return fake_tencent.add_meeting(
        f"19000041289691{n:05d}",
        f"{700_000_000 + n}",
        subject=f"Meeting {n}",
        creator="tester",
        replays=rows,
        replays_appear_after=appear_after,
    )


def ended(meeting: FakeMeeting, *, start: int = START, **extra: Any) -> dict[str, Any]:
    return meeting_end_event(
        meeting.meeting_id,
        meeting.meeting_code,
        meeting.subject,
        meeting.creator,
        start_time=start,
        end_time=start + 3600,
        **extra,
    )


def urls_of(meeting: FakeMeeting) -> list[str]:
    return [replay["video_url"] for replay in meeting.replays]


def posted_urls(fake_slack: FakeSlack, channel: str) -> list[list[str]]:
    """The replay buttons of each message posted to `channel`, in order."""
    return [button_urls(post) for post in fake_slack.posts_to(channel)]


def following(job: DigestJob) -> bool:
    """Whether the job posted a digest and now follows its meeting for later replays: handed back
    (not running) with the replays it posted noted, until the give-up time."""
    return job.state == "pending" and bool(job.posted_replays) and job.lease_owner is None


def posted(job: DigestJob) -> bool:
    """Whether the job posted its digest: it ended so, or it follows the meeting on (pending
    with the replays it posted noted, maybe looking again right now)."""
    return job.state == "posted" or (job.state == "pending" and bool(job.posted_replays))


async def jobs_done(bot: RunningBot, meeting_id: str, count: int = 1) -> list[DigestJob]:
    """The meeting's digest jobs, once `count` exist and each has ended or posted and follows
    the meeting on (10 s at most)."""
    assert bot.server.running is not None
    digest_jobs = bot.server.running.database.storage.digest_jobs
    async with asyncio.timeout(10):
        while True:
            jobs = await digest_jobs.for_meeting(meeting_id)
            if len(jobs) >= count and all(job.state != "pending" or following(job) for job in jobs):
                return jobs
            await asyncio.sleep(0.02)


async def jobs_ended(bot: RunningBot, meeting_id: str, count: int = 1) -> list[DigestJob]:
    """The meeting's digest jobs, once `count` exist and all have ended, following included."""
    assert bot.server.running is not None
    digest_jobs = bot.server.running.database.storage.digest_jobs
    async with asyncio.timeout(10):
        while True:
            jobs = await digest_jobs.for_meeting(meeting_id)
            if len(jobs) >= count and all(job.state != "pending" for job in jobs):
                return jobs
            await asyncio.sleep(0.02)


async def subscribe(bot: RunningBot, text: str = "subscribe", channel: str = "C1") -> str:
    (message,) = await bot.ask(text, channel_id=channel)
    return str(message["text"])


async def test_meeting_end_posts_one_digest_in_the_channel_and_one_in_the_dm_however_often_it_comes(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    assert await subscribe(bot) == t("subscribe_done_mine", "en")
    meeting = fake_tencent.meeting(SPEC_EXAMPLE_MEETING_ID)
    event = ended(meeting)

    # Tencent delivers at least once: the same event three times, and another meeting.end of the
    # same meeting with its own trace id (and a later end time), all at once.
    again = ended(meeting, trace_id="another-trace")
    again["payload"][0]["meeting_info"]["end_time"] += 60
    replies = await asyncio.gather(*(bot.webhook(e) for e in (event, event, event, again)))
    assert replies == [(200, "successfully received callback")] * 4

    (job,) = await jobs_done(bot, meeting.meeting_id)
    assert posted(job)
    every_url = [replay["video_url"] for replay in SPEC_EXAMPLE_REPLAYS]
    assert posted_urls(fake_slack, "C1") == [every_url]
    assert posted_urls(fake_slack, DM_U1) == [every_url]
    (post,) = fake_slack.posts_to("C1")
    assert meeting.subject in post["text"]

    # Later redeliveries find the job done: still one post each.
    assert await bot.webhook(event) == (200, "successfully received callback")
    await asyncio.sleep(0.3)
    assert len(await jobs_done(bot, meeting.meeting_id)) == 1
    assert len(fake_slack.posted) == 2


@pytest.mark.slow
async def test_subscribing_to_one_code_gets_only_that_meetings_digests(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    wanted, other = add_meeting(fake_tencent, 1), add_meeting(fake_tencent, 2)
    done = t("subscribe_done_code", "en", code=wanted.meeting_code)
    assert await subscribe(bot, f"subscribe {wanted.meeting_code}", channel="C2") == done

    for meeting in (wanted, other):
        assert (await bot.webhook(ended(meeting)))[0] == 200
        await jobs_done(bot, meeting.meeting_id)

    assert posted_urls(fake_slack, "C2") == [urls_of(wanted)]
    # The creator's DM is about all of their meetings.
    assert sorted(posted_urls(fake_slack, DM_U1)) == sorted([urls_of(wanted), urls_of(other)])


async def test_dm_off_stops_the_dm_and_unsubscribe_stops_the_channel(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    first, second, third = (add_meeting(fake_tencent, n) for n in (1, 2, 3))
    await subscribe(bot)
    assert await subscribe(bot, "dm off") == t("dm_off_done", "en")

    await bot.webhook(ended(first))
    await jobs_done(bot, first.meeting_id)
    assert posted_urls(fake_slack, "C1") == [urls_of(first)]
    assert fake_slack.posts_to(DM_U1) == []

    # Nobody left to tell: the job ends without even asking Tencent.
    assert await subscribe(bot, "unsubscribe") == t("unsubscribe_done_mine", "en")
    await bot.webhook(ended(second))
    (job,) = await jobs_done(bot, second.meeting_id)
    assert job.state == "no_recipients"
    assert second.lookups == 0

    assert await subscribe(bot, "dm on") == t("dm_on_done", "en")
    await bot.webhook(ended(third))
    await jobs_done(bot, third.meeting_id)
    assert posted_urls(fake_slack, DM_U1) == [urls_of(third)]
    assert posted_urls(fake_slack, "C1") == [urls_of(first)]


async def test_replays_that_appear_on_the_third_look_up_are_posted_then(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    meeting = add_meeting(fake_tencent, 1, appear_after=2)
    await subscribe(bot)

    await bot.webhook(ended(meeting))
    (job,) = await jobs_done(bot, meeting.meeting_id)

    # Posted on the third look-up, then followed on (a live replay proves the meeting streamed).
    assert posted(job) and job.attempts >= 3
    assert sorted(job.posted_replays) == sorted(
        f"{r['live_room_id']} {r['video_url']}" for r in meeting.replays
    )
    assert posted_urls(fake_slack, "C1") == [urls_of(meeting)]
    assert posted_urls(fake_slack, DM_U1) == [urls_of(meeting)]


@pytest.mark.slow
async def test_replays_that_never_appear_end_the_job_at_give_up_with_nothing_posted(
    start_bot: StartBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    bot = await start_bot(digest_give_up_seconds=1)
    meeting = add_meeting(fake_tencent, 1, replays=0)
    await subscribe(bot)
    posts_before = len(fake_slack.posted)

    await bot.webhook(ended(meeting))
    (job,) = await jobs_done(bot, meeting.meeting_id)

    assert job.state == "gave_up"
    assert job.finished_at is not None
    waited = (job.finished_at - job.created_at).total_seconds()
    # The last look is at the give-up time, not a doubled interval after it.
    assert 1.0 <= waited < 1.5
    assert meeting.lookups >= 4  # looked again and again meanwhile
    assert len(fake_slack.posted) == posts_before == 0


@pytest.mark.slow
async def test_each_occurrence_of_a_recurring_meeting_gets_a_digest_of_its_new_replays(
    start_bot: StartBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    # The first occurrence's job follows its meeting until the give-up time, which comes long
    # before the next occurrence does (a week later, here seconds).
    bot = await start_bot(digest_give_up_seconds=2)
    meeting = add_meeting(fake_tencent, 1, replays=1)
    first_urls = urls_of(meeting)
    await subscribe(bot)
    await bot.webhook(ended(meeting, start=START))
    await jobs_ended(bot, meeting.meeting_id)

    # A week later the same meeting (same ID and code) runs again. Tencent's list still holds last
    # week's replay, so the new digest waits for a replay it has not posted yet.
    await bot.webhook(ended(meeting, start=START + 7 * 86400))
    looked = meeting.lookups
    async with asyncio.timeout(5):
        while True:  # the fake Tencent has no event to wait on: poll its counter
            if meeting.lookups >= looked + 2:
                break
            await asyncio.sleep(0.02)
    assert len(fake_slack.posts_to("C1")) == 1
    meeting.replays.append(
        {"video_url": "https://meeting.tencent.com/l/week2", "live_room_id": "400000001"}
    )

    first, second = await jobs_done(bot, meeting.meeting_id, count=2)
    assert posted(first) and posted(second)
    assert posted_urls(fake_slack, "C1") == [first_urls, ["https://meeting.tencent.com/l/week2"]]
    assert posted_urls(fake_slack, DM_U1) == posted_urls(fake_slack, "C1")


@pytest.mark.slow
async def test_a_429_from_slack_is_waited_out_and_the_digest_posted_once(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    meeting = add_meeting(fake_tencent, 1)
    await subscribe(bot)
    fake_slack.rate_limit_next("chat.postMessage", 1, retry_after=1)
    sent = time.monotonic()

    await bot.webhook(ended(meeting))
    await jobs_done(bot, meeting.meeting_id)

    assert posted_urls(fake_slack, "C1") == [urls_of(meeting)]
    assert posted_urls(fake_slack, DM_U1) == [urls_of(meeting)]
    (post,) = fake_slack.posts_to("C1")
    assert post["time"] - sent >= 1.0  # Retry-After: 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 3  # the refused one, then one each


@pytest.mark.slow
@pytest.mark.parametrize("limited", [6], ids=["beyond-the-clients-retries"])
async def test_slack_rate_limiting_beyond_the_clients_retries_delays_the_digest_without_duplicates(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent, limited: int
) -> None:
    meeting = add_meeting(fake_tencent, 1)
    await subscribe(bot)
    # The Web client retries a 429 five times; the sixth makes this attempt fail, and the job
    # tries again later. Retry-After: 0 keeps the test short.
    fake_slack.rate_limit_next("chat.postMessage", limited, retry_after=0)

    await bot.webhook(ended(meeting))
    (job,) = await jobs_done(bot, meeting.meeting_id)

    assert posted(job) and job.attempts >= 2  # the retry, then the look-ups following it
    assert posted_urls(fake_slack, "C1") == [urls_of(meeting)]
    assert posted_urls(fake_slack, DM_U1) == [urls_of(meeting)]
