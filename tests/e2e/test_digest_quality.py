"""Digests worth reading, end to end on the real app against the fakes: look-ups only for
meetings that went live, one message per meeting per place kept current, and no second post after
a crash between Slack accepting a post and its record.

U1 is Tencent user `tester`, the creator of every meeting here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.core.storage import StorageUnavailable
from bot.i18n import t
from tests.e2e.conftest import RunningBot, StartBot
from tests.e2e.test_digests import (
    DM_U1,
    add_meeting,
    ended,
    jobs_done,
    posted,
    posted_urls,
    subscribe,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import FakeTencent

pytestmark = pytest.mark.slow  # waits out digest look-ups and their intervals

#: meetings that end without having gone live
QUIET = 1000


def live_started(event: dict[str, Any]) -> dict[str, Any]:
    """The `meeting.live-started` of the meeting a `meeting.end` event is about."""
    return {**event, "event": "meeting.live-started", "trace_id": event["trace_id"] + "-live"}


def top_level(fake_slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [p for p in fake_slack.posts_to(channel) if not p.get("thread_ts")]


async def test_meetings_that_never_went_live_get_one_look_each_and_the_live_one_its_digest(
    start_bot: StartBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    fake_tencent.calls_per_minute = 100_000
    bot = await start_bot(tencent_meeting_calls_per_minute=100_000)
    await subscribe(bot)
    streamed = add_meeting(fake_tencent, 0, replays=1)
    assert (await bot.webhook(live_started(ended(streamed))))[0] == 200
    quiet = [add_meeting(fake_tencent, n, replays=0) for n in range(1, QUIET + 1)]
    semaphore = asyncio.Semaphore(50)

    async def end(event: dict[str, Any]) -> int:
        async with semaphore:
            return (await bot.webhook(event))[0]

    statuses = await asyncio.gather(*(end(ended(m)) for m in [*quiet, streamed]))
    assert set(statuses) == {200}
    async with asyncio.timeout(120):
        for meeting in quiet:
            (job,) = await jobs_done(bot, meeting.meeting_id)
            assert job.state == "gave_up"
    # The one that went live is posted, and followed on for later replays until the give-up time.
    await fake_slack.wait_for_posts(1, channel="C1")
    await asyncio.sleep(0.5)  # room for any retry that should not happen
    assert max(m.lookups for m in quiet) == 1
    assert posted_urls(fake_slack, "C1") == [[r["video_url"] for r in streamed.replays]]


@pytest.mark.parametrize(
    "live_events", [True, False], ids=["after-live-started", "without-live-events"]
)
async def test_a_replay_appearing_later_updates_each_message_and_replies_once_in_its_thread(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent, live_events: bool
) -> None:
    # Without live-started events, the replay posted first is what proves the meeting streamed.
    meeting = add_meeting(fake_tencent, 1, replays=1)
    await subscribe(bot)
    event = ended(meeting)
    if live_events:
        await bot.webhook(live_started(event))
    await bot.webhook(event)
    await fake_slack.wait_for_posts(1, channel="C1")
    await fake_slack.wait_for_posts(1, channel=DM_U1)
    first = [top_level(fake_slack, c)[0] for c in ("C1", DM_U1)]

    meeting.replays.append(
        {"video_url": "https://meeting.tencent.com/l/late", "live_room_id": "400000009"}
    )
    await fake_slack.wait_until(
        lambda: len(fake_slack.updates) >= 2 and len(fake_slack.posted) >= 4
    )
    await asyncio.sleep(0.5)  # the job follows on: nothing more may come of the same replay

    every = [r["video_url"] for r in meeting.replays]
    assert sorted((u["channel"], u["ts"]) for u in fake_slack.updates) == sorted(
        (p["channel"], p["ts"]) for p in first
    )
    for post in first:
        assert fake_slack.messages[post["channel"]][post["ts"]]["blocks"] != post["blocks"]
        (reply,) = [p for p in fake_slack.posts_to(post["channel"]) if p.get("thread_ts")]
        assert reply["thread_ts"] == post["ts"]
        assert top_level(fake_slack, post["channel"]) == [post]
    stored = fake_slack.messages["C1"][first[0]["ts"]]
    shown = [b["accessory"]["url"] for b in stored["blocks"] if b.get("accessory")]
    assert shown == every
    expected = t("digest_update_reply", "en", count=1, subject="Meeting 1", names="400000009")
    assert [p["text"] for p in fake_slack.posts_to("C1") if p.get("thread_ts")] == [expected]


async def test_a_post_slack_accepted_but_never_recorded_is_adopted_not_posted_again(
    bot: RunningBot,
    fake_slack: FakeSlack,
    fake_tencent: FakeTencent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meeting = add_meeting(fake_tencent, 1, replays=1)
    await subscribe(bot)
    assert bot.server.running is not None
    jobs = bot.server.running.database.storage.digest_jobs
    record = jobs.record_delivery
    failed: list[str] = []

    async def lose_the_first_record(job_id: int, recipient: str, **where: Any) -> bool:
        # The database fails right after Slack accepted part 0 to C1: as if the process died.
        if recipient == "channel:C1#0" and not failed:
            failed.append(recipient)
            raise StorageUnavailable("connection lost")
        return await record(job_id, recipient, **where)

    monkeypatch.setattr(jobs, "record_delivery", lose_the_first_record)
    await bot.webhook(ended(meeting))
    (job,) = await jobs_done(bot, meeting.meeting_id)

    assert failed and posted(job)
    (post,) = fake_slack.posts_to("C1")
    assert post["metadata"]["event_type"] == "tencent_meeting_replays"
    assert post["metadata"]["event_payload"]["part"] == 0
    histories = [p for m, p in fake_slack.calls if m == "conversations.history"]
    assert histories and all(
        h.get("include_all_metadata") in (True, "1", "true") for h in histories
    )
    assert "channel:C1#0" in await jobs.deliveries(job.id)
