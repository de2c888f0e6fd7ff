"""Pydantic models of Tencent Meeting's cloud-recording responses (云录制).

`GET /v1/records` (a meeting's recordings, one page) and `GET /v1/addresses/{record_file_id}` (one
file's addresses), as spec/tencent-meeting.md section 6 describes them. Read like the other wire
models: unknown fields ignored, `meeting_id` kept as text, epoch times in seconds or milliseconds.
Flags and counts are read leniently because they only decorate a card; a file's `record_file_id`
and a recording's `meeting_id` are required because nothing can be done without them.

Each model says what it is in the core's words (`core()`, `bot.core.meetings`); `recorded_meetings`
groups a query's recordings into one core `Meeting` per meeting. The download address is never
converted: it expires within hours and must not reach a message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from bot.core import meetings
from bot.core.sources import Recorded
from bot.meeting.models import LenientInt, Paged, UnixTime, _list_or_empty, _TencentModel

#: `state` of a recording: still being recorded, being transcoded, done (files listed only then)
RECORDING = 1
TRANSCODING = 2
DONE = 3

#: `record_type`: recorded in the cloud, or uploaded afterwards
CLOUD_RECORDING = 0
UPLOADED = 2

_TRUE_TEXT = frozenset({"1", "true", "yes", "on"})


def _lenient_flag(value: Any) -> bool:
    """true/1/"1"/"true" read as True; anything else (absent, null, unreadable) as False.

    These flags only describe what Tencent will ask of a viewer, and Tencent enforces them itself.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_TEXT
    return False


def _text_or_empty(value: Any) -> Any:
    return "" if value is None else value


LenientFlag = Annotated[bool, BeforeValidator(_lenient_flag)]
LenientText = Annotated[str, BeforeValidator(_text_or_empty)]


class RecordFile(_TencentModel):
    """One file of a recording, with the meeting's sharing settings when sharing is on."""

    record_file_id: str
    record_start_time: UnixTime = None
    record_end_time: UnixTime = None
    #: bytes
    record_size: LenientInt = 0
    #: 0 off, 1 on; the sharing fields below are present only when it is on
    sharing_state: LenientInt = 0
    sharing_url: LenientText = ""
    #: may be empty even with sharing on; never for a channel
    password: LenientText = ""
    #: None when the link never expires (Tencent sends 0)
    sharing_expire: UnixTime = None
    #: only members of the enterprise may open the link
    required_same_corp: LenientFlag = False
    #: only the meeting's participants may open the link
    required_participant: LenientFlag = False
    allow_download: LenientFlag = False

    @property
    def shared(self) -> bool:
        """Whether sharing is on and Tencent gave a link to share."""
        return self.sharing_state == 1 and bool(self.sharing_url)

    def core(self) -> meetings.RecordingFile:
        return meetings.RecordingFile(
            file_id=self.record_file_id,
            start=self.record_start_time,
            end=self.record_end_time,
            size_bytes=max(self.record_size, 0),
        )

    def sharing(self) -> meetings.Sharing | None:
        """What Tencent asks of whoever opens the link; None while sharing is off."""
        if not self.shared:
            return None
        return meetings.Sharing(
            url=self.sharing_url.strip(),
            password=self.password,
            expires=self.sharing_expire,
            members_only=self.required_same_corp,
            participants_only=self.required_participant,
            allow_download=self.allow_download,
        )


class RecordMeeting(_TencentModel):
    """One recording of a meeting (a meeting can have several) and, once done, its files."""

    meeting_id: str
    meeting_record_id: str = ""
    meeting_code: str = ""
    subject: str = ""
    host_user_id: str = ""
    media_start_time: UnixTime = None
    state: LenientInt = 0
    record_type: LenientInt = CLOUD_RECORDING
    record_files: Annotated[list[RecordFile], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )

    @property
    def done(self) -> bool:
        return self.state == DONE

    @property
    def processing(self) -> bool:
        """Still being recorded or transcoded: its files are not listed yet."""
        return self.state in (RECORDING, TRANSCODING)

    def core(self) -> meetings.Recording:
        """This recording in the core's words. A state Tencent has not documented counts as
        ready when files are listed (they can be watched) and as processing otherwise."""
        if self.state == RECORDING:
            state = meetings.RecordingState.RECORDING
        elif self.done or (not self.processing and self.record_files):
            state = meetings.RecordingState.READY
        else:
            state = meetings.RecordingState.PROCESSING
        files = (
            tuple(f.core() for f in self.record_files)
            if state is meetings.RecordingState.READY
            else ()
        )
        # All files of a meeting share one link; the first shared file's settings stand for all.
        sharing = next((s for f in self.record_files if (s := f.sharing()) is not None), None)
        return meetings.Recording(
            record_id=self.meeting_record_id,
            state=state,
            files=files,
            sharing=sharing,
            start=self.media_start_time,
        )


class RecordsPage(Paged):
    """One page of `GET /v1/records`."""

    record_meetings: Annotated[list[RecordMeeting], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )


class RecordAddresses(_TencentModel):
    """`GET /v1/addresses/{record_file_id}`: Tencent's player page and a short-lived download link.

    `download_address` expires within hours or minutes: it must never be posted anywhere.
    """

    record_file_id: str = ""
    meeting_id: str = ""
    meeting_code: str = ""
    #: Tencent's own player page; opens only after a login with access to the recording
    view_address: LenientText = ""
    download_address: LenientText = ""


def recorded_meetings(entries: Iterable[RecordMeeting]) -> list[Recorded]:
    """The recordings of a query as one core `Meeting` per meeting_id (a code can name several
    meetings, a meeting can have several recordings), in the order Tencent listed them; a
    recording listed twice (pages that shifted while being read) is kept once."""
    grouped: dict[str, list[RecordMeeting]] = {}
    for entry in entries:
        same = grouped.setdefault(entry.meeting_id, [])
        if not entry.meeting_record_id or all(
            e.meeting_record_id != entry.meeting_record_id for e in same
        ):
            same.append(entry)
    found: list[Recorded] = []
    for meeting_id, recordings in grouped.items():
        first = recordings[0]
        meeting = meetings.Meeting(
            meeting_id=meeting_id,
            code=next((r.meeting_code for r in recordings if r.meeting_code), ""),
            subject=next((r.subject for r in recordings if r.subject), ""),
            recordings=tuple(r.core() for r in recordings),
        )
        found.append(Recorded(meeting, host_userid=first.host_user_id))
    return found
