"""The digest rules on the in-memory storage: who receives a digest, what is new, when to look
again and when to give up, each recipient once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.core.digest_queue import DigestQueue, DigestTiming, Verdict
from bot.core.digest_rules import DigestRules
from bot.core.digest_sink import Recipient
from bot.core.lookup import CachePolicy, ReplayLookup
from bot.core.records import DigestJob, EndedMeeting, JobState, LinkMethod
from bot.core.storage import Storage
from tests.fakes.core import Clock, RecordingSink, ReplayBook, WallClock, meeting, replay

MEETING_ID = "7" * 19
CODE = "806146667"
ENDED = EndedMeeting(
    occurrence_key=f"meeting.end:{MEETING_ID}:1",
    meeting_id=MEETING_ID,
    meeting_code=CODE,
    subject="Weekly",
    creator_userid="alice",
)
TIMING = DigestTiming(delay=120, give_up=3600)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def rules(storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock) -> DigestRules:
    queue = DigestQueue(storage.digest_jobs, timing=TIMING, worker_id="w", clock=wall)
    lookup = ReplayLookup(book, cache=CachePolicy(), clock=Clock())
    return DigestRules(storage, queue, lookup, sink)


async def claimed(storage: Storage, wall: WallClock) -> DigestJob:
    [job] = await storage.digest_jobs.claim_due(
        worker_id="w", now=wall.now, lease_seconds=300, limit=1
    )
    return job


def posted(*numbers: int) -> tuple[str, ...]:
    """The keys of the live replays `numbers` of `tests.fakes.core.replay`, as a job notes them."""
    return tuple(f"{n} https://meeting.tencent.com/l/{n}" for n in numbers)


async def subscribed(storage: Storage) -> None:
    await storage.subscriptions.add("T1", "C1", "alice", None, created_by="U1")
    await storage.subscriptions.add("T1", "C2", "alice", CODE, created_by="U1")
    await storage.subscriptions.add("T1", "C3", "alice", "999999999", created_by="U1")
    await storage.links.save("T1", "U1", "alice", method=LinkMethod.ADMIN, linked_by="UADMIN")


async def test_a_meeting_end_is_one_job_due_after_the_delay(
    rules: DigestRules, storage: Storage, wall: WallClock
) -> None:
    assert await rules.meeting_ended(ENDED)
    assert not await rules.meeting_ended(ENDED)  # Tencent redelivers
    assert await storage.digest_jobs.next_due() == wall.now + timedelta(seconds=TIMING.delay)


async def test_recipients_are_the_subscribed_channels_and_the_creators_dm(
    rules: DigestRules, storage: Storage, wall: WallClock
) -> None:
    await subscribed(storage)
    await rules.meeting_ended(ENDED)
    wall.advance(TIMING.delay)
    job = await claimed(storage, wall)
    keys = {recipient.key for recipient in await rules.recipients(job)}
    assert keys == {"channel:C1", "channel:C2", "dm:U1"}
    await storage.preferences.set_dm_digests("T1", "U1", False)
    assert Recipient("dm", "U1", "U1") not in await rules.recipients(job)


async def test_nobody_wants_it_then_tencent_is_not_asked(
    rules: DigestRules, storage: Storage, book: ReplayBook, wall: WallClock
) -> None:
    await rules.meeting_ended(ENDED)
    wall.advance(TIMING.delay)
    assert await rules.work(await claimed(storage, wall)) == Verdict(JobState.NO_RECIPIENTS)
    assert book.calls == 0


async def test_no_replay_yet_means_look_again_until_the_give_up_time(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    await subscribed(storage)
    book.add("alice", meeting(MEETING_ID, CODE))
    await rules.meeting_ended(ENDED)
    wall.advance(TIMING.delay)
    job = await claimed(storage, wall)
    assert await rules.work(job) == Verdict.retry()
    wall.advance(TIMING.give_up)
    assert await rules.work(job) == Verdict(JobState.GAVE_UP)
    assert sink.delivered == []


async def test_a_meeting_of_someone_else_ends_the_job(
    rules: DigestRules, storage: Storage, book: ReplayBook, wall: WallClock
) -> None:
    await subscribed(storage)
    book.add("bob", meeting(MEETING_ID, CODE, replay(1)))
    await rules.meeting_ended(ENDED)
    wall.advance(TIMING.delay)
    assert await rules.work(await claimed(storage, wall)) == Verdict(JobState.FAILED)


async def test_each_recipient_gets_the_new_replays_once(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    await subscribed(storage)
    book.add("alice", meeting(MEETING_ID, CODE, replay(1), replay(2)))
    # An earlier occurrence of this recurring meeting posted replay 1 already.
    earlier = EndedMeeting("earlier", MEETING_ID, CODE, "Weekly", "alice")
    await storage.digest_jobs.record_known_replays(earlier, ["1 https://meeting.tencent.com/l/1"])
    await rules.meeting_ended(ENDED)
    wall.advance(TIMING.delay)
    job = await claimed(storage, wall)
    # Posted, and followed on: a live replay proves the meeting streamed, more may come.
    assert await rules.work(job) == Verdict(None, ("2 https://meeting.tencent.com/l/2",))
    assert sorted(sink.delivered) == [
        ("channel:C1", "https://meeting.tencent.com/l/2"),
        ("channel:C2", "https://meeting.tencent.com/l/2"),
        ("dm:U1", "https://meeting.tencent.com/l/2"),
    ]


async def test_a_run_cut_short_resumes_at_the_first_missing_part(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    await subscribed(storage)
    book.add("alice", meeting(MEETING_ID, CODE, replay(1), replay(2), replay(3)))
    await rules.meeting_ended(ENDED)
    wall.advance(TIMING.delay)
    job = await claimed(storage, wall)
    sink.fail_once.add("channel:C2")  # Slack fails after C2's first message
    assert await rules.work(job) == Verdict.retry()
    assert await rules.work(job) == Verdict(None, posted(1, 2, 3))
    per_recipient = {
        key: [url for k, url in sink.delivered if k == key] for key, _ in sink.delivered
    }
    expected = [f"https://meeting.tencent.com/l/{n}" for n in (1, 2, 3)]
    assert per_recipient == {"channel:C1": expected, "channel:C2": expected, "dm:U1": expected}


async def test_a_digest_cut_short_by_shutdown_is_handed_back_at_once_and_posted_once(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    await subscribed(storage)
    book.add("alice", meeting(MEETING_ID, CODE, replay(1), replay(2), replay(3)))
    await rules.meeting_ended(ENDED)
    wall.advance(TIMING.delay)
    sink.cut_after = 4  # shutdown comes while the digest is under way
    stop = asyncio.Event()
    worker = asyncio.create_task(rules.run(stop))
    await asyncio.wait_for(sink.stopping.wait(), 5)
    stop.set()
    await asyncio.wait_for(worker, 5)
    [job] = await storage.digest_jobs.for_meeting(MEETING_ID)
    assert job.state is JobState.PENDING
    assert job.lease_owner is None and job.due_at <= wall.now  # no wait for its lease
    assert len(sink.delivered) == 4
    sink.stopping.clear()  # the next instance
    sink.cut_after = None
    job = await claimed(storage, wall)
    assert await rules.work(job) == Verdict(None, posted(1, 2, 3))
    expected = [f"https://meeting.tencent.com/l/{n}" for n in (1, 2, 3)]
    for key in ("channel:C1", "channel:C2", "dm:U1"):
        assert [url for k, url in sink.delivered if k == key] == expected


async def test_a_recipient_refused_for_good_does_not_stop_the_others(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    await subscribed(storage)
    book.add("alice", meeting(MEETING_ID, CODE, replay(1)))
    sink.refuse.add("channel:C1")
    await rules.meeting_ended(ENDED)
    wall.advance(TIMING.delay)
    job = await claimed(storage, wall)
    assert await rules.work(job) == Verdict(None, posted(1))
    assert {key for key, _ in sink.delivered} == {"channel:C2", "dm:U1"}
    # Every recipient is done with (C1 for good), each message recorded as it went out (beside
    # the marks of a try and of the replays each place was shown).
    recorded = await storage.digest_jobs.deliveries(job.id)
    assert {key for key in recorded if "#try" not in key and "#u" not in key} == {
        "channel:C1",
        "channel:C2#0",
        "channel:C2",
        "dm:U1#0",
        "dm:U1",
    }


async def looked_again(
    storage: Storage, wall: WallClock, job: DigestJob, verdict: Verdict
) -> DigestJob:
    """Hand the job back as the queue does for a verdict of "look again", and claim it once due."""
    assert verdict.outcome is None
    await storage.digest_jobs.reschedule(
        job.id,
        worker_id="w",
        due_at=wall.now,
        attempts=job.attempts + 1,
        posted_replays=verdict.posted_replays or None,
    )
    return await claimed(storage, wall)


async def test_without_live_events_a_posted_replay_is_followed_and_a_late_one_updates_each_place(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    # No meeting.live-started has ever arrived: only the posted replay says the meeting streamed.
    await subscribed(storage)
    book.add("alice", meeting(MEETING_ID, CODE, replay(1)))
    await rules.meeting_ended(ENDED)
    wall.advance(TIMING.delay)
    job = await claimed(storage, wall)
    first = await rules.work(job)
    assert first == Verdict(None, posted(1))
    assert sorted(key for key, _ in sink.delivered) == ["channel:C1", "channel:C2", "dm:U1"]

    wall.advance(TIMING.delay)
    job = await looked_again(storage, wall, job, first)
    nothing_yet = await rules.work(job)
    assert nothing_yet == Verdict(None, posted(1))  # still following, nothing new

    book.add("alice", meeting(MEETING_ID, CODE, replay(1), replay(2)))  # a second live room
    wall.advance(TIMING.delay)
    job = await looked_again(storage, wall, job, nothing_yet)
    late = await rules.work(job)
    assert late == Verdict(None, posted(1, 2))
    assert len(sink.delivered) == 3  # no new message: each place's message is updated
    assert sorted((key, new) for key, _, _, new in sink.updates) == [
        (key, ["https://meeting.tencent.com/l/2"]) for key in ("channel:C1", "channel:C2", "dm:U1")
    ]

    wall.advance(TIMING.give_up)
    job = await looked_again(storage, wall, job, late)
    assert await rules.work(job) == Verdict(JobState.POSTED, posted(1, 2))
    assert len(sink.updates) == 3 and sink.gave_up_notes == []


async def test_while_live_events_arrive_a_posted_replay_still_proves_the_meeting_streamed(
    rules: DigestRules, storage: Storage, book: ReplayBook, wall: WallClock
) -> None:
    await rules.went_live("another meeting")  # this meeting's own live-started was missed
    await subscribed(storage)
    book.add("alice", meeting(MEETING_ID, CODE, replay(1)))
    await rules.meeting_ended(ENDED)
    wall.advance(TIMING.delay)
    assert await rules.work(await claimed(storage, wall)) == Verdict(None, posted(1))
