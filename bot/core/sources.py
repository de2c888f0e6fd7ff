"""What the core asks the meeting service, declared as Protocols; `bot.meeting.client` implements
them on Tencent Meeting. Each raises `bot.core.failures.MeetingServiceError` when it gets no
answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.meetings import DirectoryUser, History, Meeting


class ReplaySource(Protocol):
    """A meeting's replays, as its creator `userid` sees them (the service answers nobody else)."""

    async def replays_by_code(self, meeting_code: str, *, userid: str) -> Sequence[Meeting]: ...

    async def replays_by_id(self, meeting_id: str, *, userid: str) -> Sequence[Meeting]: ...


@dataclass(frozen=True, slots=True)
class Recorded:
    """A meeting as the recordings query found it (`Meeting.recordings` only), and the userid
    Tencent lists as its host. The recordings query also answers enterprise admins and recording
    managers, so when the replays query cannot vouch that the asker created the meeting, a host
    who is somebody else means the asker may be reading another person's recordings."""

    meeting: Meeting
    host_userid: str = ""


class RecordingSource(Protocol):
    """A meeting's cloud recordings, asked as `userid` (always the meeting's creator here), over
    the longest window the service allows (the last 31 days), every page within the budget."""

    async def recordings_by_code(self, meeting_code: str, *, userid: str) -> Sequence[Recorded]: ...

    async def recordings_by_id(self, meeting_id: str, *, userid: str) -> Sequence[Recorded]: ...

    async def player_page(self, file_id: str, *, userid: str) -> str:
        """The service's own page playing one recording file (it asks the viewer to log in);
        empty when there is none. Never a download address: those expire within hours."""
        ...


class HistorySource(Protocol):
    """The meetings a user created or attended that ended in a window, newest first."""

    async def ended_meetings(
        self, userid: str, *, start: datetime, end: datetime, max_pages: int
    ) -> History:
        """Reads at most `max_pages` pages (a call each); `History.calls` says how many it read."""
        ...


class Directory(Protocol):
    """The enterprise's users, read by an admin (`operator_id`)."""

    async def user_detail(self, userid: str, *, operator_id: str) -> DirectoryUser: ...

    async def list_users(self, *, operator_id: str) -> Sequence[DirectoryUser]: ...
