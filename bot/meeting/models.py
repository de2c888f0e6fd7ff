"""Pydantic models of the Tencent Meeting responses this app reads.

Unknown fields are ignored (Tencent adds fields without notice); `meeting_id` stays a string because
it can exceed int64.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class _TencentModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


#: Above this a Unix time is in milliseconds (1e11 seconds is the year 5138).
_MILLISECONDS_THRESHOLD = 100_000_000_000


def _unix_time(value: Any) -> datetime | None:
    """Unix seconds (int, float or their text) as an aware UTC datetime; None when unreadable.

    0, negative, empty and non-numeric values read as None: a time only decorates a meeting, so an
    odd spelling must not cost the whole page.
    """
    if isinstance(value, datetime):
        # Built in code rather than read from Tencent: a naive one is taken as UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    seconds = value / 1000 if value >= _MILLISECONDS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _lenient_int(value: Any) -> Any:
    """None or empty text reads as 0; anything else is left to pydantic's lax int parsing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    return value


def _list_or_empty(value: Any) -> Any:
    return [] if value is None else value


UnixTime = Annotated[datetime | None, BeforeValidator(_unix_time)]
LenientInt = Annotated[int, BeforeValidator(_lenient_int)]


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


class HistoryMeeting(_TencentModel):
    """One ended meeting of a user, created or attended (Tencent gives no creator field)."""

    meeting_id: str
    meeting_code: str = ""
    subject: str = ""
    start_time: UnixTime = None
    end_time: UnixTime = None
    #: 0 a one-off meeting, 1 a recurring one (whose occurrences can share the meeting_id)
    meeting_type: LenientInt = 0


class HistoryPage(_TencentModel):
    """One page of `GET /v1/history/meetings/{userid}`, newest first."""

    total_count: LenientInt = 0
    total_page: LenientInt = 0
    current_page: LenientInt = 1
    current_size: LenientInt = 0
    meeting_info_list: Annotated[list[HistoryMeeting], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )
