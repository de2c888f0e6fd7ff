"""Pydantic models of the Tencent Meeting responses this app reads, and what each is in the core's
words (`bot.core.meetings`).

Unknown fields are ignored (Tencent adds fields without notice); `meeting_id` stays a string because
it can exceed int64.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bot.core import meetings
from bot.meeting.times import unix_time


class _TencentModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


def _lenient_int(value: Any) -> Any:
    """None or empty text reads as 0; anything else is left to pydantic's lax int parsing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    return value


def _list_or_empty(value: Any) -> Any:
    return [] if value is None else value


UnixTime = Annotated[datetime | None, BeforeValidator(unix_time)]
LenientInt = Annotated[int, BeforeValidator(_lenient_int)]


class LiveReplay(_TencentModel):
    live_room_id: str = ""
    live_subject: str = ""
    video_url: str

    def core(self) -> meetings.LiveReplay:
        return meetings.LiveReplay(
            url=self.video_url, room_id=self.live_room_id, subject=self.live_subject
        )


class MeetingReplays(_TencentModel):
    """One meeting and its live replays (`MeetingInfo` in Tencent's page)."""

    meeting_id: str
    meeting_code: str = ""
    subject: str = ""
    live_replay_list: list[LiveReplay] = Field(default_factory=list)

    def core(self) -> meetings.Meeting:
        return meetings.Meeting(
            meeting_id=self.meeting_id,
            code=self.meeting_code,
            subject=self.subject,
            live_replays=tuple(replay.core() for replay in self.live_replay_list),
        )


class ReplaysResponse(_TencentModel):
    meeting_number: int = 0
    meeting_info_list: list[MeetingReplays] = Field(default_factory=list)


class TencentUser(_TencentModel):
    userid: str
    username: str = ""
    email: str = ""
    phone: str = ""
    status: str = ""

    def core(self) -> meetings.DirectoryUser:
        return meetings.DirectoryUser(userid=self.userid, name=self.username, email=self.email)


class UserListPage(_TencentModel):
    total_count: int = 0
    current_size: int = 0
    current_page: int = 1
    page_size: int = 20
    users: list[TencentUser] = Field(default_factory=list)


class HistoryMeeting(_TencentModel):
    """One ended meeting of a user, created or attended (Tencent gives no creator field)."""

    meeting_id: str
    meeting_code: str = ""
    subject: str = ""
    start_time: UnixTime = None
    end_time: UnixTime = None
    #: 0 a one-off meeting, 1 a recurring one (whose occurrences can share the meeting_id)
    meeting_type: LenientInt = 0

    def core(self) -> meetings.HistoryEntry:
        return meetings.HistoryEntry(
            meeting_id=self.meeting_id,
            code=self.meeting_code,
            subject=self.subject,
            start=self.start_time,
            end=self.end_time,
            recurring=self.meeting_type == 1,
        )


class Paged(_TencentModel):
    """The paging fields of Tencent's paged answers (meeting history, cloud recordings)."""

    total_count: LenientInt = 0
    total_page: LenientInt = 0
    current_page: LenientInt = 1
    current_size: LenientInt = 0

    def is_last(self, page_number: int, *, received: int, page_size: int) -> bool:
        """Whether page `page_number`, which held `received` items, ends the list: a short page
        ends it, and so does the last page Tencent counts (`total_page` 0 counts none)."""
        return received < page_size or (self.total_page > 0 and page_number >= self.total_page)


class HistoryPage(Paged):
    """One page of `GET /v1/history/meetings/{userid}`, newest first."""

    meeting_info_list: Annotated[list[HistoryMeeting], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )
