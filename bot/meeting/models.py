"""Pydantic models of the Tencent Meeting responses this app reads.

Unknown fields are ignored (Tencent adds fields without notice); `meeting_id` stays a string because
it can exceed int64.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _TencentModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class LiveReplay(_TencentModel):
    live_room_id: str = ""
    live_subject: str = ""
    video_url: str


class MeetingReplays(_TencentModel):
    """One meeting and its live replays (`MeetingInfo` in Tencent's page)."""

    meeting_id: str
    meeting_code: str = ""
    subject: str = ""
    live_replay_list: list[LiveReplay] = Field(default_factory=list)


class ReplaysResponse(_TencentModel):
    meeting_number: int = 0
    meeting_info_list: list[MeetingReplays] = Field(default_factory=list)


class TencentUser(_TencentModel):
    userid: str
    username: str = ""
    email: str = ""
    phone: str = ""
    status: str = ""


class UserListPage(_TencentModel):
    total_count: int = 0
    current_size: int = 0
    current_page: int = 1
    page_size: int = 20
    users: list[TencentUser] = Field(default_factory=list)
