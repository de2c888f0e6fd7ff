"""What the app finds about meetings, in the core's own words: plain frozen values.

`bot.meeting` reads Tencent's wire data into these at its edge, so that the rules and the
renderers never depend on how Tencent spells a field. A `Meeting` carries what was found for it
(its live replays, and next to them whatever else a meeting can hold); the rules go through the
meeting's own methods (`has_replays`, `keys`, `keeping`) rather than its live replays, so that a
new kind of thing found lands in one place.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
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


@dataclass(frozen=True, slots=True)
class Meeting:
    """One meeting and what was found for it. `meeting_id` stays text: it can exceed int64."""

    meeting_id: str
    code: str = ""
    subject: str = ""
    live_replays: tuple[LiveReplay, ...] = ()

    @property
    def has_replays(self) -> bool:
        """Whether anything was found to watch."""
        return bool(self.live_replays)

    @property
    def keys(self) -> tuple[str, ...]:
        """The key of everything found, in order (see `LiveReplay.key`)."""
        return tuple(replay.key for replay in self.live_replays)

    def keeping(self, keys: Collection[str]) -> Meeting:
        """This meeting with only what was found whose key is in `keys`, in the same order."""
        return replace(self, live_replays=tuple(r for r in self.live_replays if r.key in keys))

    def without(self, keys: Collection[str]) -> Meeting:
        """This meeting without what was found whose key is in `keys`, in the same order."""
        return replace(self, live_replays=tuple(r for r in self.live_replays if r.key not in keys))


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
