"""The look-up of a meeting asks its live replays and its cloud recordings, as one `Meeting`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.failures import Failure, MeetingServiceError
from bot.core.lookup import CachePolicy, ReplayLookup
from bot.core.meetings import (
    Meeting,
    MeetingRef,
    Recording,
    RecordingFile,
    RecordingState,
    Sharing,
)
from bot.core.outcomes import LookupProblem
from bot.core.sources import Recorded
from tests.fakes.core import Clock, ReplayBook, meeting, replay

MEETING_ID = "1" * 19
CODE = MeetingRef("code", "806146667")


@dataclass
class RecordingShelf:
    """Tencent's recordings queries, answered by creator (admins: `readers`)."""

    recorded: dict[str, tuple[str, Meeting]] = field(default_factory=dict)
    readers: set[str] = field(default_factory=set)
    calls: int = 0
    player_calls: list[str] = field(default_factory=list)

    def add(self, creator: str, found: Meeting) -> None:
        self.recorded[found.meeting_id] = (creator, found)

    async def recordings_by_code(self, meeting_code: str, *, userid: str) -> Sequence[Recorded]:
        return self._answer(
            [m for m in self.recorded.values() if m[1].code == meeting_code], userid
        )

    async def recordings_by_id(self, meeting_id: str, *, userid: str) -> Sequence[Recorded]:
        return self._answer(
            [m for m in self.recorded.values() if m[1].meeting_id == meeting_id], userid
        )

    def _answer(self, found: list[tuple[str, Meeting]], userid: str) -> list[Recorded]:
        self.calls += 1
        if not found:
            raise MeetingServiceError(Failure.NOT_FOUND, "no such meeting")
        if any(creator != userid and userid not in self.readers for creator, _ in found):
            raise MeetingServiceError(Failure.NOT_CREATOR, "not the creator")
        return [Recorded(m, host_userid=creator) for creator, m in found]

    async def player_page(self, file_id: str, *, userid: str) -> str:
        self.player_calls.append(file_id)
        return f"https://meeting.tencent.com/play/{file_id}"


def recording(*file_ids: str, shared: bool = True, ready: bool = True) -> Recording:
    return Recording(
        record_id="r" + "".join(file_ids),
        state=RecordingState.READY if ready else RecordingState.PROCESSING,
        files=tuple(RecordingFile(f, size_bytes=10) for f in file_ids) if ready else (),
        sharing=Sharing("https://meeting.tencent.com/share/x", password="4321") if shared else None,
    )


def recorded(*recordings: Recording) -> Meeting:
    return Meeting(MEETING_ID, "806146667", "Recorded", recordings=recordings)


def looker(book: ReplayBook, shelf: RecordingShelf, clock: Clock) -> ReplayLookup:
    return ReplayLookup(book, recordings=shelf, cache=CachePolicy(), clock=clock)


async def test_a_meeting_that_only_was_recorded_is_found_by_its_recordings(
    book: ReplayBook, clock: Clock
) -> None:
    shelf = RecordingShelf()
    shelf.add("alice", recorded(recording("f1", "f2")))

    result = await looker(book, shelf, clock).lookup(CODE, "alice")

    [found] = result.meetings
    assert found.live_replays == ()
    assert found.keys == ("recording:f1", "recording:f2")


async def test_both_kinds_are_one_meeting(book: ReplayBook, clock: Clock) -> None:
    book.add("alice", meeting(MEETING_ID, "806146667", replay(1)))
    shelf = RecordingShelf()
    shelf.add("alice", recorded(recording("f1")))

    result = await looker(book, shelf, clock).lookup(MeetingRef("id", MEETING_ID), "alice")

    [found] = result.meetings
    assert len(found.live_replays) == 1 and len(found.recordings) == 1
    assert (book.calls, shelf.calls) == (1, 1)


async def test_not_the_creator_of_either_query_is_not_the_creator(
    book: ReplayBook, clock: Clock
) -> None:
    book.add("alice", meeting(MEETING_ID, "806146667", replay(1)))
    shelf = RecordingShelf()
    shelf.add("alice", recorded(recording("f1")))
    lookup = looker(book, shelf, clock)

    refused = await lookup.lookup(CODE, "bob")
    assert refused.problem is LookupProblem.NOT_CREATOR
    assert shelf.calls == 0, "the replays query refused: the recordings are not asked"

    # An admin may read the recordings, but the replays query vouches only for the creator.
    shelf.readers.add("admin")
    assert (await lookup.lookup(CODE, "admin")).problem is LookupProblem.NOT_CREATOR


async def test_an_admin_reading_an_unstreamed_meeting_is_not_its_creator(
    book: ReplayBook, clock: Clock
) -> None:
    shelf = RecordingShelf(readers={"admin"})
    shelf.add("alice", recorded(recording("f1")))

    result = await looker(book, shelf, clock).lookup(CODE, "admin")

    assert result.problem is LookupProblem.NOT_CREATOR


async def test_nothing_anywhere_is_no_such_meeting(book: ReplayBook, clock: Clock) -> None:
    result = await looker(book, RecordingShelf(), clock).lookup(CODE, "alice")
    assert result.problem is LookupProblem.NOT_FOUND


async def test_a_processing_recording_is_nothing_yet_for_the_cache(
    book: ReplayBook, clock: Clock
) -> None:
    book.add("alice", meeting(MEETING_ID, "806146667", replay(1)))
    shelf = RecordingShelf()
    shelf.add("alice", recorded(recording("f1", ready=False)))
    lookup = looker(book, shelf, clock)

    [found] = (await lookup.lookup(CODE, "alice")).meetings
    assert found.processing
    clock.now += 16
    await lookup.lookup(CODE, "alice")
    assert shelf.calls == 2, "kept 15 s like an answer with nothing to watch yet"


async def test_player_pages_only_for_the_first_unshared_files_and_kept(
    book: ReplayBook, clock: Clock
) -> None:
    shelf = RecordingShelf()
    shelf.add(
        "alice",
        recorded(recording("s1", shared=True), recording("u1", "u2", "u3", "u4", shared=False)),
    )
    lookup = looker(book, shelf, clock)
    result = await lookup.lookup(CODE, "alice")

    assert lookup.kept_player_pages(result.meetings, "alice") is None
    pages = await lookup.player_pages(result.meetings, "alice")
    assert [f for f, _ in pages] == ["u1", "u2", "u3"]
    assert lookup.kept_player_pages(result.meetings, "alice") == pages
    await lookup.player_pages(result.meetings, "alice")
    assert shelf.player_calls == ["u1", "u2", "u3"]
