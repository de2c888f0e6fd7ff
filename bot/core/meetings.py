"""What the app finds about meetings, in the core's own words: plain frozen values.

`bot.meeting` reads Tencent's wire data into these at its edge, so that the rules and the
renderers never depend on how Tencent spells a field. A `Meeting` carries what was found for it:
its live-stream replays and its cloud recordings. The rules go through the meeting's own methods
(`has_replays`, `keys`, `keeping`, `without`) rather than either list, so that both kinds are
posted, kept and told apart the same way: each watchable thing has a key, a live replay its room
and URL, a recording file its `record_file_id`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal


@dataclass(frozen=True, slots=True)
class MeetingRef:
    """A meeting as someone referred to it: its code (9-12 digits) or its ID (19-20 digits)."""

    kind: Literal["code", "id"]
    value: str


@dataclass(frozen=True, slots=True)
class LiveReplay:
    """One live room's replay of a meeting."""

    url: str
    room_id: str = ""
    subject: str = ""

    @property
    def key(self) -> str:
        """What tells replays of one meeting apart: Tencent gives them no id of their own."""
        return f"{self.room_id} {self.url}"


class RecordingState(StrEnum):
    """Where a cloud recording is: its files can be watched only once it is READY."""

    #: the meeting is still being recorded
    RECORDING = "recording"
    #: recorded, being transcoded: Tencent lists no file yet
    PROCESSING = "processing"
    READY = "ready"


@dataclass(frozen=True, slots=True)
class Sharing:
    """How the creator shared a recording's files: one link for all of them, and what Tencent
    asks of whoever opens it. The `password` belongs only in answers one allowed person sees."""

    url: str
    password: str = ""
    #: None when the link never expires
    expires: datetime | None = None
    #: only members of the enterprise may open it
    members_only: bool = False
    #: only the meeting's participants may open it
    participants_only: bool = False
    allow_download: bool = False


#: what starts a recording file's key, and never a live replay's (a room id or nothing, a space)
RECORDING_KEY_PREFIX = "recording:"


def is_recording_key(key: str) -> bool:
    """Whether a watchable thing's key is a recording file's rather than a live replay's."""
    return key.startswith(RECORDING_KEY_PREFIX)


@dataclass(frozen=True, slots=True)
class RecordingFile:
    """One file of a cloud recording."""

    file_id: str
    start: datetime | None = None
    end: datetime | None = None
    size_bytes: int = 0

    @property
    def key(self) -> str:
        """What tells recording files apart, never equal to a live replay's key."""
        return f"{RECORDING_KEY_PREFIX}{self.file_id}"


@dataclass(frozen=True, slots=True)
class Recording:
    """One cloud recording of a meeting (a meeting can have several). `sharing` is None while
    the creator has not turned sharing on."""

    record_id: str
    state: RecordingState
    files: tuple[RecordingFile, ...] = ()
    sharing: Sharing | None = None
    start: datetime | None = None


@dataclass(frozen=True, slots=True)
class Meeting:
    """One meeting and what was found for it. `meeting_id` stays text: it can exceed int64."""

    meeting_id: str
    code: str = ""
    subject: str = ""
    live_replays: tuple[LiveReplay, ...] = ()
    recordings: tuple[Recording, ...] = ()

    @property
    def has_replays(self) -> bool:
        """Whether anything was found to watch: a live replay or a ready recording's file."""
        return bool(self.keys)

    @property
    def processing(self) -> bool:
        """Whether a recording is still being made or transcoded (its files are to come)."""
        return any(r.state is not RecordingState.READY for r in self.recordings)

    @property
    def keys(self) -> tuple[str, ...]:
        """The key of everything found to watch, live replays first, in order."""
        return (
            *(replay.key for replay in self.live_replays),
            *(file.key for recording in self.recordings for file in recording.files),
        )

    def keeping(self, keys: Collection[str]) -> Meeting:
        """This meeting with only what was found whose key is in `keys`, in the same order
        (recordings left with no file dropped)."""
        return self._filtered(lambda key: key in keys)

    def without(self, keys: Collection[str]) -> Meeting:
        """This meeting without what was found whose key is in `keys`, in the same order
        (recordings left with no file dropped)."""
        return self._filtered(lambda key: key not in keys)

    def _filtered(self, wanted: Callable[[str], bool]) -> Meeting:
        recordings = []
        for recording in self.recordings:
            files = tuple(f for f in recording.files if wanted(f.key))
            if files:
                recordings.append(replace(recording, files=files))
        return replace(
            self,
            live_replays=tuple(r for r in self.live_replays if wanted(r.key)),
            recordings=tuple(recordings),
        )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One ended meeting in a user's history, created or attended (the history does not say)."""

    meeting_id: str
    code: str = ""
    subject: str = ""
    start: datetime | None = None
    end: datetime | None = None
    #: a recurring meeting's occurrences can share its `meeting_id`
    recurring: bool = False


@dataclass(frozen=True, slots=True)
class History:
    """The entries of a user's history in a window, newest first, and the calls reading it took
    (one per page), so that whoever paces those calls needs no page size."""

    entries: tuple[HistoryEntry, ...] = ()
    calls: int = 1


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A user of the enterprise's Tencent Meeting directory."""

    userid: str
    name: str = ""
    email: str = ""


def occurrence_key(meeting_id: str, *, sub_meeting_id: str = "", start: datetime | None) -> str:
    """The key of one ended occurrence of a meeting, however it was learnt of (a `meeting.end`
    webhook or the history): equal for redeliveries of one end, distinct per occurrence of a
    recurring meeting. The end time is left out: duplicate `meeting.end` events may disagree on
    it, and the history does not tell the sub-meeting, so the start time stands in for it."""
    occurrence = sub_meeting_id or (str(int(start.timestamp())) if start else "")
    return f"meeting.end:{meeting_id}:{occurrence}"
