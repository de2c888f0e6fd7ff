"""Digests of cloud recordings end to end: Tencent's `recording.completed` / `recording.deleted`
webhooks in, Slack posts, updates and thread replies out, on the real app and the fakes.

U1 is Tencent user `tester` (by email), the creator of every meeting here, subscribed in C1 to all
of their meetings; their DM is DU1. What is asserted is what Slack shows: every message posted to
a place, every update of one, every thread reply.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.core.records import DigestJob
from bot.i18n import t
from tests.e2e.conftest import RunningBot, StartBot
from tests.e2e.test_digest_processes import Launch, meeting_end
from tests.e2e.test_digest_processes import launch as launch  # the fixture
from tests.e2e.test_digest_processes import subscribe as subscribe_process
from tests.e2e.test_digests import following, posted
from tests.fakes.block_kit import button_urls
from tests.fakes.databases import BACKENDS, fresh_database_url
from tests.fakes.slack import FakeSlack, Params
from tests.fakes.tencent import FakeMeeting, FakeTencent
from tests.fakes.tencent_records import TRANSCODING, RecordingSharing
from tests.fakes.tencent_webhook import meeting_end_event

PASSWORD = "pw-7Q4Z-secret"
DM_U1 = "DU1"
ACCEPTED = (200, "successfully received callback")


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of each backend (PostgreSQL when TEST_DATABASE_URL is set)."""
    async with fresh_database_url(request.param, tmp_path) as url:
        yield url


def recorded_meeting(
    fake_tencent: FakeTencent, n: int, *, replays: int = 0, state: int = 3, files: int = 2
) -> FakeMeeting:
    """Meeting `n` of `tester`, which ended an hour ago (inside the records window), with
    `replays` live replays and one shared, password-protected cloud recording."""
    end = int(time.time()) - 3600
    rows = [
        {
            "video_url": f"https://meeting.tencent.com/l/rec{n}r{k}",
            "live_subject": f"Recorded {n} part {k}",
            "live_room_id": f"{400_000_000 + n * 10 + k}",
        }
        for k in range(1, replays + 1)
    ]
    meeting = fake_tencent.add_meeting(
        f"19000051289691{n:05d}",
        f"{710_000_000 + n}",
        subject=f"Recorded meeting {n}",
        creator="tester",
        replays=rows,
        start=_at(end - 3600),
        end=_at(end),
    )
    fake_tencent.add_recording(
        meeting.meeting_id, state=state, files=files, sharing=RecordingSharing(password=PASSWORD)
    )
    return meeting


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def meeting_ended(meeting: FakeMeeting) -> dict[str, Any]:
    assert meeting.start_time is not None and meeting.end_time is not None
    return meeting_end_event(
        meeting.meeting_id,
        meeting.meeting_code,
        meeting.subject,
        meeting.creator,
        start_time=meeting.start_time,
        end_time=meeting.end_time,
    )


async def subscribe(bot: RunningBot, channel: str = "C1") -> None:
    (message,) = await bot.ask("subscribe", channel_id=channel)
    assert message["text"] == t("subscribe_done_mine", "en")


async def jobs_done(bot: RunningBot, meeting_id: str, count: int) -> list[DigestJob]:
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


def top_posts(fake_slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [p for p in fake_slack.posts_to(channel) if not p.get("thread_ts")]


def thread_replies(fake_slack: FakeSlack, channel: str, ts: str) -> list[dict[str, Any]]:
    return [p for p in fake_slack.posts_to(channel) if p.get("thread_ts") == ts]


def updates_of(fake_slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    resolved = fake_slack.dm_channel(channel[1:]) if channel.startswith("D") else channel
    return [u for u in fake_slack.updates if u["channel"] in (channel, resolved)]


def everything_shown_in(fake_slack: FakeSlack, channel: str) -> str:
    """Every post (thread replies included) and every update sent to `channel`, as one text."""
    shown = [*fake_slack.posts_to(channel), *updates_of(fake_slack, channel)]
    return json.dumps(shown, ensure_ascii=False)


def text_of(message: dict[str, Any]) -> str:
    return json.dumps([message.get("text"), message.get("blocks")], ensure_ascii=False)


async def test_a_recording_transcoding_at_the_digest_is_added_to_it_with_one_thread_reply(
    database_url: str, start_bot: StartBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    bot = await start_bot(database_url)
    await subscribe(bot)
    meeting = recorded_meeting(fake_tencent, 1, replays=2, state=TRANSCODING)
    live_urls = [replay["video_url"] for replay in meeting.replays]

    assert await bot.webhook(meeting_ended(meeting)) == ACCEPTED
    (ended_job,) = await jobs_done(bot, meeting.meeting_id, 1)
    assert posted(ended_job)
    (digest,) = top_posts(fake_slack, "C1")
    assert button_urls(digest) == live_urls
    assert fake_tencent.sharing_url(meeting.meeting_id) not in json.dumps(digest)

    fake_tencent.finish_transcoding(meeting.meeting_id)
    event = fake_tencent.recording_completed_event(meeting.meeting_id)
    assert await bot.webhook(event) == ACCEPTED
    jobs = await jobs_done(bot, meeting.meeting_id, 2)
    assert all(posted(job) for job in jobs)

    # No new message: the channel's digest was updated and got exactly one thread reply.
    assert top_posts(fake_slack, "C1") == [digest]
    (reply,) = thread_replies(fake_slack, "C1", digest["ts"])
    assert reply["text"] == t("digest_recording_ready", "en", subject=meeting.subject, count=2)
    (update,) = [u for u in updates_of(fake_slack, "C1") if u["ts"] == digest["ts"]]
    assert fake_tencent.sharing_url(meeting.meeting_id) in button_urls(update)
    assert set(live_urls) <= set(button_urls(update))
    assert "password protected" in text_of(update)
    # The password is nowhere in the channel: not in a post, an update or a thread reply.
    assert PASSWORD not in everything_shown_in(fake_slack, "C1")

    # The creator's DM got the same update, and may show the password: one person reads it.
    (dm_digest,) = top_posts(fake_slack, DM_U1)
    (dm_update,) = [u for u in updates_of(fake_slack, DM_U1) if u["ts"] == dm_digest["ts"]]
    assert PASSWORD in text_of(dm_update)
    assert len(thread_replies(fake_slack, DM_U1, dm_digest["ts"])) == 1


async def test_a_recorded_meeting_that_never_streamed_gets_one_new_digest_per_place(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    await subscribe(bot)
    meeting = recorded_meeting(fake_tencent, 2)

    event = fake_tencent.recording_completed_event(meeting.meeting_id)
    assert await bot.webhook(event) == ACCEPTED
    (job,) = await jobs_done(bot, meeting.meeting_id, 1)
    assert job.state == "posted"

    link = fake_tencent.sharing_url(meeting.meeting_id)
    (channel_post,) = fake_slack.posts_to("C1")
    (dm_post,) = fake_slack.posts_to(DM_U1)
    assert link in button_urls(channel_post) and link in button_urls(dm_post)
    assert meeting.subject in channel_post["text"]
    assert fake_slack.updates == []
    # The channel is told a password is needed; only the creator's DM carries it.
    assert "password protected" in text_of(channel_post)
    assert PASSWORD not in everything_shown_in(fake_slack, "C1")
    assert PASSWORD in text_of(dm_post)


async def test_recording_completed_delivered_again_and_again_is_one_message_per_place(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    await subscribe(bot)
    meeting = recorded_meeting(fake_tencent, 3)
    event = fake_tencent.recording_completed_event(meeting.meeting_id)
    again = {**event, "trace_id": "another-trace"}

    replies = await asyncio.gather(*(bot.webhook(e) for e in (event, event, again)))
    assert replies == [ACCEPTED] * 3
    (job,) = await jobs_done(bot, meeting.meeting_id, 1)
    assert job.state == "posted"
    # A redelivery after the job finished finds it done.
    assert await bot.webhook(event) == ACCEPTED
    await asyncio.sleep(0.3)
    assert len(await jobs_done(bot, meeting.meeting_id, 1)) == 1

    assert len(fake_slack.posts_to("C1")) == 1
    assert len(fake_slack.posts_to(DM_U1)) == 1
    assert len(fake_slack.posted) == 2
    assert fake_slack.updates == []


async def test_recording_completed_twice_on_a_posted_digest_updates_it_once(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    await subscribe(bot)
    meeting = recorded_meeting(fake_tencent, 4, replays=1, state=TRANSCODING)
    assert await bot.webhook(meeting_ended(meeting)) == ACCEPTED
    await jobs_done(bot, meeting.meeting_id, 1)

    fake_tencent.finish_transcoding(meeting.meeting_id)
    event = fake_tencent.recording_completed_event(meeting.meeting_id)
    replies = await asyncio.gather(bot.webhook(event), bot.webhook(event))
    assert replies == [ACCEPTED] * 2
    await jobs_done(bot, meeting.meeting_id, 2)
    assert await bot.webhook(event) == ACCEPTED
    await asyncio.sleep(0.3)
    assert len(await jobs_done(bot, meeting.meeting_id, 2)) == 2

    for place in ("C1", DM_U1):
        (digest,) = top_posts(fake_slack, place)
        assert len(thread_replies(fake_slack, place, digest["ts"])) == 1
        assert len([u for u in updates_of(fake_slack, place) if u["ts"] == digest["ts"]]) == 1


async def test_recording_deleted_rewrites_the_posted_messages_and_posts_nothing(
    database_url: str, start_bot: StartBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    bot = await start_bot(database_url)
    await subscribe(bot)
    meeting = recorded_meeting(fake_tencent, 5, replays=1)
    live_url = meeting.replays[0]["video_url"]
    link = fake_tencent.sharing_url(meeting.meeting_id)
    assert await bot.webhook(fake_tencent.recording_completed_event(meeting.meeting_id)) == ACCEPTED
    await jobs_done(bot, meeting.meeting_id, 1)
    (digest,) = fake_slack.posts_to("C1")
    assert set(button_urls(digest)) == {live_url, link}
    posts_before = len(fake_slack.posted)

    removed = fake_tencent.delete_recordings(meeting.meeting_id)
    event = fake_tencent.recording_deleted_event(meeting.meeting_id, removed)
    assert await bot.webhook(event) == ACCEPTED
    await jobs_done(bot, meeting.meeting_id, 2)

    assert len(fake_slack.posted) == posts_before  # nothing new
    removed_line = t("digest_recording_removed", "en")
    for place in ("C1", DM_U1):
        (digest,) = fake_slack.posts_to(place)
        (update,) = updates_of(fake_slack, place)
        assert update["ts"] == digest["ts"]
        assert removed_line in text_of(update)
        # The live replay stays; the removed recording's link is gone.
        assert button_urls(update) == [live_url]
    assert PASSWORD not in everything_shown_in(fake_slack, "C1")

    # A redelivery changes nothing more.
    assert await bot.webhook(event) == ACCEPTED
    await asyncio.sleep(0.3)
    assert len(await jobs_done(bot, meeting.meeting_id, 2)) == 2
    assert len(fake_slack.updates) == 2
    assert len(fake_slack.posted) == posts_before


@pytest.mark.slow
async def test_sigkill_mid_post_of_a_recording_digest_leaves_one_message_per_place(
    launch: Launch, people: None, fake_slack: FakeSlack, fake_tencent: FakeTencent, tmp_path: Path
) -> None:
    meeting = recorded_meeting(fake_tencent, 6)
    database = f"sqlite:///{tmp_path / 'replays.db'}"
    first = await launch(database, DIGEST_DELAY_SECONDS="0.05")
    killed = asyncio.Event()

    async def kill_the_bot(post: Params) -> None:
        # Slack has stored the post; the bot dies before it hears so, let alone records it.
        if not killed.is_set():
            killed.set()
            await first.kill()

    async with aiohttp.ClientSession() as session:
        await subscribe_process(session, first, fake_slack, "U1", "C1")
        fake_slack.after_post = kill_the_bot
        event = fake_tencent.recording_completed_event(meeting.meeting_id)
        await meeting_end(session, first, event)  # any event, delivered as Tencent does
        await asyncio.wait_for(killed.wait(), 15)
        fake_slack.after_post = None
        (first_post,) = fake_slack.posted
        assert first_post["metadata"]["event_type"] == "tencent_meeting_replays"

        second = await launch(database, DIGEST_DELAY_SECONDS="0.05")
        # Tencent delivers again (it heard 200, but redeliveries happen): still one job.
        await meeting_end(session, second, event)
    # The job is taken up again once the dead process's lease runs out (30 s); the message
    # already posted is adopted by its metadata, and the other place gets its own.
    await fake_slack.wait_for_posts(2, timeout=60)
    await asyncio.sleep(2)  # room for a repeat, were there one
    assert len(fake_slack.posts_to("C1")) == 1
    assert len(fake_slack.posts_to(DM_U1)) == 1
    assert fake_slack.updates == []
    assert PASSWORD not in everything_shown_in(fake_slack, "C1")
    assert await second.stop() == 0


WITHOUT_WEBHOOK = {
    "tencent_webhook_token": None,
    "tencent_webhook_aes_key": None,
    # a large budget lets the poller look every DIGEST_DELAY_SECONDS (0.05 s here)
    "tencent_meeting_calls_per_minute": 3000,
}


async def wait_for_update(fake_slack: FakeSlack, ts: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:  # no event to wait on: look at what Slack was sent
            found = [u for u in fake_slack.updates if u["ts"] == ts]
            if found:
                return found[-1]
            await asyncio.sleep(0.02)


async def test_without_a_webhook_a_watched_codes_recording_is_added_to_its_digest(
    start_bot: StartBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    bot = await start_bot(**WITHOUT_WEBHOOK)
    meeting = recorded_meeting(fake_tencent, 7, replays=1, state=TRANSCODING)
    (answer,) = await bot.ask(f"subscribe {meeting.meeting_code}", channel_id="C3")
    assert answer["text"] == t("subscribe_done_code", "en", code=meeting.meeting_code)
    await asyncio.sleep(0.3)  # the first look: what is there already is known, not news
    assert fake_slack.posted == []

    late = {"video_url": "https://meeting.tencent.com/l/late7", "live_room_id": "400000079"}
    meeting.replays.append(late)
    await fake_slack.wait_for_posts(2)
    (digest,) = top_posts(fake_slack, "C3")
    assert button_urls(digest) == [late["video_url"]]

    fake_tencent.finish_transcoding(meeting.meeting_id)
    # Each place's message is updated and gets its thread reply (at Slack's pace per channel).
    update = await wait_for_update(fake_slack, digest["ts"])
    await fake_slack.wait_for_posts(4)
    await asyncio.sleep(0.3)  # a few more rounds: nothing more to post

    assert top_posts(fake_slack, "C3") == [digest]
    (reply,) = thread_replies(fake_slack, "C3", digest["ts"])
    assert reply["text"] == t("digest_recording_ready", "en", subject=meeting.subject, count=2)
    assert fake_tencent.sharing_url(meeting.meeting_id) in button_urls(update)
    assert PASSWORD not in everything_shown_in(fake_slack, "C3")


async def test_without_a_webhook_a_digest_from_the_history_follows_its_recording(
    start_bot: StartBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    bot = await start_bot(**WITHOUT_WEBHOOK)
    meeting = recorded_meeting(fake_tencent, 8, replays=1, state=TRANSCODING)
    await subscribe(bot, channel="C4")
    await fake_slack.wait_for_posts(2)  # the history names the meeting: its live replay goes out
    (digest,) = top_posts(fake_slack, "C4")
    assert button_urls(digest) == [meeting.replays[0]["video_url"]]

    fake_tencent.finish_transcoding(meeting.meeting_id)
    update = await wait_for_update(fake_slack, digest["ts"])
    (job,) = await jobs_done(bot, meeting.meeting_id, 1)
    await asyncio.sleep(0.3)  # a few more rounds: nothing more to post

    assert posted(job)
    assert top_posts(fake_slack, "C4") == [digest]
    assert len(thread_replies(fake_slack, "C4", digest["ts"])) == 1
    assert fake_tencent.sharing_url(meeting.meeting_id) in button_urls(update)
    assert PASSWORD not in everything_shown_in(fake_slack, "C4")


@pytest.mark.slow
async def test_sigkill_after_the_thread_reply_of_an_update_leaves_one_reply_per_place(
    launch: Launch, people: None, fake_slack: FakeSlack, fake_tencent: FakeTencent, tmp_path: Path
) -> None:
    meeting = recorded_meeting(fake_tencent, 9, replays=1, state=TRANSCODING)
    database = f"sqlite:///{tmp_path / 'replays.db'}"
    first = await launch(database, DIGEST_DELAY_SECONDS="0.05")
    killed = asyncio.Event()

    async def kill_at_the_first_reply(post: Params) -> None:
        # Slack has stored the thread reply; the bot dies before it can record it.
        if post.get("thread_ts") and not killed.is_set():
            killed.set()
            await first.kill()

    async with aiohttp.ClientSession() as session:
        await subscribe_process(session, first, fake_slack, "U1", "C1")
        await meeting_end(session, first, meeting_ended(meeting))
        await fake_slack.wait_for_posts(2, timeout=15)  # the live replay's digests
        fake_tencent.finish_transcoding(meeting.meeting_id)
        fake_slack.after_post = kill_at_the_first_reply
        await meeting_end(
            session, first, fake_tencent.recording_completed_event(meeting.meeting_id)
        )
        await asyncio.wait_for(killed.wait(), 15)
    fake_slack.after_post = None

    second = await launch(database, DIGEST_DELAY_SECONDS="0.05")
    # Once the dead process's lease runs out (30 s), the job finds the reply in the thread by its
    # metadata and does not post it again; the other place gets its update and reply.
    await fake_slack.wait_for_posts(4, timeout=60)
    await asyncio.sleep(2)  # room for a repeat, were there one
    for place in ("C1", DM_U1):
        (digest,) = top_posts(fake_slack, place)
        assert len(thread_replies(fake_slack, place, digest["ts"])) == 1, place
    assert len(fake_slack.posted) == 4
    assert PASSWORD not in everything_shown_in(fake_slack, "C1")
    assert await second.stop() == 0
