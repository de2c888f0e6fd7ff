"""The digest rules for cloud recordings on the in-memory storage: a `recording.completed` job
waits for no live replay, follows only a recording still in the making, one job of a meeting runs
at a time, and a `recording.deleted` job rewrites what was posted."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.core.digest_queue import DigestQueue, DigestTiming, Verdict
from bot.core.digest_rules import DigestRules
from bot.core.lookup import CachePolicy, ReplayLookup
from bot.core.meetings import Meeting, Recording, RecordingFile, RecordingState
from bot.core.poller import CALLS_WITH_RECORDINGS, ReplayPoller
from bot.core.records import (
    RECORDING_COMPLETED,
    RECORDING_DELETED,
    DigestJob,
    EndedMeeting,
    JobState,
    LinkMethod,
    RecordingChange,
    recording_occurrence_key,
)
from bot.core.storage import Storage
from tests.fakes.core import Clock, RecordingSink, ReplayBook, WallClock, meeting, replay

MEETING_ID = "8" * 19
CODE = "806146668"
TIMING = DigestTiming(delay=120, give_up=3600)
FILES = (RecordingFile("f1"), RecordingFile("f2"))


def ended(key: str) -> EndedMeeting:
    return EndedMeeting(
        occurrence_key=key,
        meeting_id=MEETING_ID,
        meeting_code=CODE,
        subject="Weekly",
        creator_userid="alice",
    )


def change(event: str, files: tuple[str, ...] = ("f1", "f2")) -> RecordingChange:
    kind = RECORDING_COMPLETED if event == RECORDING_COMPLETED else RECORDING_DELETED
    return RecordingChange(kind, ended(recording_occurrence_key(kind, MEETING_ID, files)), files)


def recorded(state: RecordingState, *replays: int) -> Meeting:
    files = FILES if state is RecordingState.READY else ()
    found = meeting(MEETING_ID, CODE, *(replay(n) for n in replays))
    return replace(found, recordings=(Recording("r1", state, files),))


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def rules(storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock) -> DigestRules:
    queue = DigestQueue(storage.digest_jobs, timing=TIMING, worker_id="w", clock=wall)
    lookup = ReplayLookup(book, cache=CachePolicy(), clock=Clock())
    return DigestRules(storage, queue, lookup, sink)


@pytest.fixture(autouse=True)
async def subscribed(storage: Storage) -> None:
    await storage.subscriptions.add("T1", "C1", "alice", None, created_by="U1")
    await storage.links.save("T1", "U1", "alice", method=LinkMethod.ADMIN, linked_by="UADMIN")


async def claim(storage: Storage, wall: WallClock, limit: int = 1) -> list[DigestJob]:
    return await storage.digest_jobs.claim_due(
        worker_id="w", now=wall.now, lease_seconds=300, limit=limit
    )


async def finish(storage: Storage, job: DigestJob, verdict: Verdict) -> None:
    """Apply a run's verdict as the queue does: finished, or handed back to look again later."""
    if verdict.outcome is None:
        await storage.digest_jobs.reschedule(
            job.id,
            worker_id="w",
            due_at=job.due_at,
            attempts=job.attempts + 1,
            posted_replays=verdict.posted_replays or None,
        )
        return
    await storage.digest_jobs.finish(
        job.id, worker_id="w", outcome=verdict.outcome, posted_replays=verdict.posted_replays
    )


async def test_a_recording_of_a_meeting_that_never_went_live_is_posted_and_done(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    # Live events arrive and this meeting never went live: a meeting.end job would look once.
    await rules.went_live("another meeting")
    book.add("alice", recorded(RecordingState.READY))
    assert await rules.recording_changed(change(RECORDING_COMPLETED))
    assert not await rules.recording_changed(change(RECORDING_COMPLETED))  # redelivered
    wall.advance(TIMING.delay)
    (job,) = await claim(storage, wall)

    verdict = await rules.work(job)

    assert verdict == Verdict(JobState.POSTED, ("recording:f1", "recording:f2"))
    assert len(sink.abouts) == 2  # the channel and the creator's DM, one digest each


async def test_a_recording_still_transcoding_is_looked_at_again_then_posted(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    book.add("alice", recorded(RecordingState.PROCESSING))
    await rules.recording_changed(change(RECORDING_COMPLETED))
    wall.advance(TIMING.delay)
    (job,) = await claim(storage, wall)
    assert await rules.work(job) == Verdict.retry()
    assert sink.abouts == []

    book.add("alice", recorded(RecordingState.READY))
    verdict = await rules.work(job)
    assert verdict.outcome is JobState.POSTED
    assert len(sink.abouts) == 2


async def test_a_recording_job_does_not_wait_for_live_replays_of_a_meeting_that_went_live(
    rules: DigestRules, storage: Storage, book: ReplayBook, wall: WallClock
) -> None:
    await rules.went_live(MEETING_ID)
    book.add("alice", recorded(RecordingState.READY, 1))
    await rules.recording_changed(change(RECORDING_COMPLETED))
    wall.advance(TIMING.delay)
    (job,) = await claim(storage, wall)
    assert (await rules.work(job)).outcome is JobState.POSTED


async def test_a_job_waits_while_an_older_job_of_the_meeting_runs(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    book.add("alice", recorded(RecordingState.READY, 1))
    await rules.meeting_ended(ended(f"meeting.end:{MEETING_ID}:1"))
    await rules.recording_changed(change(RECORDING_COMPLETED))
    wall.advance(TIMING.delay)
    older, newer = sorted(await claim(storage, wall, limit=2), key=lambda j: j.id)

    assert await rules.work(newer) == Verdict.retry()
    assert book.calls == 0 and sink.abouts == []
    await finish(storage, older, await rules.work(older))
    # The older one posted everything (and, having posted a live replay, follows the meeting on);
    # the newer one, once it runs, finds nothing new.
    assert (await rules.work(newer)).outcome is JobState.POSTED
    assert len(sink.abouts) == 2


async def test_a_job_following_its_meeting_waits_while_a_newer_job_of_the_meeting_runs(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    book.add("alice", recorded(RecordingState.PROCESSING, 1))
    await rules.meeting_ended(ended(f"meeting.end:{MEETING_ID}:1"))
    wall.advance(TIMING.delay)
    (older,) = await claim(storage, wall)
    first = await rules.work(older)  # posts the live replay, and follows the meeting on
    assert first.outcome is None and first.posted_replays
    await storage.digest_jobs.reschedule(
        older.id,
        worker_id="w",
        due_at=wall.now + timedelta(seconds=TIMING.delay + 1),
        attempts=1,
        posted_replays=first.posted_replays,
    )
    book.add("alice", recorded(RecordingState.READY, 1))
    await rules.recording_changed(change(RECORDING_COMPLETED))
    wall.advance(TIMING.delay)
    (newer,) = await claim(storage, wall)  # the recording's job is claimed, and runs
    wall.advance(1)
    (following,) = await claim(storage, wall)  # the following job comes due meanwhile
    assert following.id == older.id

    calls = book.calls
    waiting = await rules.work(following)
    assert waiting == Verdict(None, following.posted_replays)
    assert book.calls == calls  # it waits for the newer job, without a look-up
    await finish(storage, following, waiting)
    assert (await rules.work(newer)).outcome is JobState.POSTED
    assert len(sink.updates) == 2  # the channel's message and the DM, once each


async def test_a_deletion_rewrites_each_posted_message_without_the_removed_files(
    rules: DigestRules, storage: Storage, book: ReplayBook, sink: RecordingSink, wall: WallClock
) -> None:
    book.add("alice", recorded(RecordingState.READY, 1))
    await rules.recording_changed(change(RECORDING_COMPLETED))
    wall.advance(TIMING.delay)
    (job,) = await claim(storage, wall)
    await finish(storage, job, await rules.work(job))

    book.add("alice", recorded(RecordingState.READY, 1))  # Tencent may list them a while longer
    assert await rules.recording_changed(change(RECORDING_DELETED))
    assert not await rules.recording_changed(change(RECORDING_DELETED))  # redelivered
    (removal,) = await claim(storage, wall)
    assert removal.due_at <= wall.now  # due at once
    verdict = await rules.work(removal)

    assert verdict.outcome is JobState.POSTED
    live_only = [replay(1).key]
    # The RecordingSink posts one part per live replay: the channel's and the DM's messages.
    assert sorted((key, shown) for key, _, shown in sink.removals) == [
        ("channel:C1", live_only),
        ("dm:U1", live_only),
    ]
    # A rerun (after a crash) rewrites nothing twice.
    assert await rules.work(removal) == Verdict(JobState.POSTED)
    assert len(sink.removals) == 2


async def test_the_poller_counts_the_recordings_call_of_each_watched_code(
    storage: Storage, book: ReplayBook, rules: DigestRules, wall: WallClock
) -> None:
    await storage.subscriptions.add("T1", "C2", "alice", CODE, created_by="U1")
    book.add("alice", recorded(RecordingState.READY))
    lookup = ReplayLookup(book, cache=CachePolicy(), clock=Clock())
    poller = ReplayPoller(
        lookup,
        rules,
        storage,
        delay=0.05,
        calls_per_minute=300,
        calls_per_lookup=CALLS_WITH_RECORDINGS,
        clock=wall,
    )
    # One watched code, its replays and its recordings: what the round's spacing is based on.
    assert await poller.run_once() == 2
