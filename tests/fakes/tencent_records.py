"""The fake Tencent's cloud recordings (云录制): `GET /v1/records` and `GET /v1/addresses/{id}`.

The facts are spec/tencent-meeting.md section 6. The server in `tests.fakes.tencent` has already
checked the signature, headers and quota when these run; this module keeps the recordings of each
meeting and answers the two queries the way Tencent does:
- the operator (`operator_id`, `operator_id_type=1`) must be a registered user (190001) who is the
  meeting's creator, an enterprise super admin or a user with recording-management rights;
- `start_time`/`end_time` are required Unix seconds spanning at most 31 days; `page_size` ≤ 20;
- a recording's files are listed only once it is done (`state` 3), the sharing fields only when
  sharing is on, and all files of one meeting share one `sharing_url`.

Where the spec is silent, this fake chooses:
- Refusing an operator who may not read the recordings: 190315 (HTTP 403), the spec's code for a
  caller who is not the meeting's creator (it names none for recordings).
- A malformed parameter (missing or unreadable time, window over 31 days or ending before it
  starts, `page_size` > 20, `operator_id_type` other than 1, no meeting named): 10001 (HTTP 400),
  as everywhere else in the fake.
- An unknown meeting: 9003 (HTTP 500) by ID, 190457 (HTTP 400) by code, as for replays; with both,
  the ID wins. An unknown or not yet listed `record_file_id`: 9003 (HTTP 500).
- `page_size` defaults to 10 and `page` to 1. A recording is in the window when its
  `media_start_time` is (both bounds inclusive); the newest comes first.
- Times go out as JSON numbers in milliseconds, flags as booleans.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from tests.fakes.tencent_protocol import (
    MAX_PAGE_SIZE,
    MEETING_CODE_NOT_FOUND,
    MEETING_ID_NOT_FOUND,
    NOT_CREATOR,
    USER_NOT_REGISTERED,
    Refused,
    Rejection,
    bad_parameter,
    optional_positive_int,
    required,
)

RECORDS_MAX_SPAN = 31 * 86400
RECORDS_DEFAULT_PAGE_SIZE = 10
#: how long a download address stays valid (Tencent: hours or minutes)
DOWNLOAD_ADDRESS_TTL = 3600

RECORDING = 1
TRANSCODING = 2
DONE = 3
CLOUD_RECORDING = 0
UPLOADED = 2

DEFAULT_FILE_LENGTH = timedelta(minutes=30)
DEFAULT_FILE_SIZE = 52_428_800


@dataclass
class RecordingSharing:
    """A recording's sharing settings while sharing is on (what Tencent asks of a viewer)."""

    password: str = ""
    #: None: the link never expires (Tencent sends 0)
    expires: datetime | None = None
    required_same_corp: bool = False
    required_participant: bool = False
    allow_download: bool = False


@dataclass
class FakeRecordFile:
    record_file_id: str
    start: datetime
    end: datetime
    size: int = DEFAULT_FILE_SIZE


@dataclass
class FakeRecording:
    """One recording of a meeting (`record_meetings[]` entry); `sharing` None means sharing off."""

    meeting_record_id: str
    media_start: datetime
    state: int
    record_type: int
    files: list[FakeRecordFile]
    sharing: RecordingSharing | None = None

    @property
    def record_file_ids(self) -> list[str]:
        return [f.record_file_id for f in self.files]


class RecordedMeeting(Protocol):
    """What this module needs of the server's meetings (`tests.fakes.tencent.FakeMeeting`)."""

    meeting_id: str
    meeting_code: str
    subject: str
    creator: str
    recordings: list[FakeRecording]


class Operator(Protocol):
    """What this module needs of the server's users (`tests.fakes.tencent.FakeUser`)."""

    userid: str
    super_admin: bool
    manages_recordings: bool


def sharing_url(meeting_id: str) -> str:
    """The one sharing link of a meeting's recordings (stable, so tests can look for it)."""
    token = uuid.uuid5(uuid.NAMESPACE_URL, f"fake-tencent-record:{meeting_id}").hex
    return f"https://meeting.tencent.com/v2/cloud-record/share?id={token}&from=3"


def view_address(record_file_id: str) -> str:
    return f"https://meeting.tencent.com/user-center/meeting-record/info?id={record_file_id}"


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("recording times must be timezone-aware")
    return math.floor(moment.timestamp() * 1000)


class RecordsApi:
    """The recordings of the fake's meetings: seeding for tests and the two endpoints' answers.

    `users` and `meetings` are the server's own dictionaries, read live.
    """

    def __init__(
        self,
        users: Mapping[str, Operator],
        meetings: Mapping[str, RecordedMeeting],
        clock: Callable[[], float],
    ) -> None:
        self._users = users
        self._meetings = meetings
        self._clock = clock
        self._ids = itertools.count(1)

    # --- seeding -------------------------------------------------------------------------------

    def add_recording(
        self,
        meeting: RecordedMeeting,
        *,
        start: datetime,
        state: int,
        files: int | Sequence[tuple[timedelta, int]],
        sharing: RecordingSharing | None,
        record_type: int,
    ) -> FakeRecording:
        rows = (
            [(DEFAULT_FILE_LENGTH, DEFAULT_FILE_SIZE)] * files if isinstance(files, int) else files
        )
        made: list[FakeRecordFile] = []
        at = start
        for length, size in rows:
            made.append(FakeRecordFile(self._new_id(), at, at + length, size))
            at += length
        recording = FakeRecording(self._new_id(), start, state, record_type, made, sharing)
        meeting.recordings.append(recording)
        return recording

    def _new_id(self) -> str:
        # 19 digits, like Tencent's ids, distinct from the meetings' own.
        return str(1_700_000_000_000_000_000 + next(self._ids))

    # --- GET /v1/records -----------------------------------------------------------------------

    def records(self, query: Mapping[str, str]) -> dict[str, Any]:
        operator = self._operator(query)
        start, end = _window(query)
        page_size = optional_positive_int(query, "page_size", RECORDS_DEFAULT_PAGE_SIZE)
        page = optional_positive_int(query, "page", 1)
        if page_size > MAX_PAGE_SIZE:
            raise bad_parameter("page_size must be at most 20")
        meeting = self._meeting(query)
        self._require_access(operator, meeting)
        in_window = sorted(
            (r for r in meeting.recordings if start <= r.media_start.timestamp() <= end),
            key=lambda r: (r.media_start, r.meeting_record_id),
            reverse=True,
        )
        chunk = in_window[(page - 1) * page_size : page * page_size]
        return {
            "total_count": len(in_window),
            "total_page": math.ceil(len(in_window) / page_size),
            "current_page": page,
            "current_size": len(chunk),
            "record_meetings": [_record_meeting(meeting, r) for r in chunk],
        }

    def _operator(self, query: Mapping[str, str]) -> Operator:
        userid = required(query, "operator_id")
        if required(query, "operator_id_type") != "1":
            raise bad_parameter("operator_id_type must be 1 (userid)")
        user = self._users.get(userid)
        if user is None:
            raise Refused(Rejection(500, USER_NOT_REGISTERED, "operator is not a registered user"))
        return user

    def _meeting(self, query: Mapping[str, str]) -> RecordedMeeting:
        meeting_id = query.get("meeting_id", "")
        if meeting_id:
            meeting = self._meetings.get(meeting_id)
            if meeting is None:
                raise Refused(Rejection(500, MEETING_ID_NOT_FOUND, "MEETING NOT EXIST"))
            return meeting
        code = query.get("meeting_code", "")
        if not code:
            raise bad_parameter("meeting_id or meeting_code is required")
        found = next((m for m in self._meetings.values() if m.meeting_code == code), None)
        if found is None:
            raise Refused(Rejection(400, MEETING_CODE_NOT_FOUND, "meeting code not exist"))
        return found

    @staticmethod
    def _require_access(operator: Operator, meeting: RecordedMeeting) -> None:
        allowed = (
            operator.userid == meeting.creator
            or operator.super_admin
            or operator.manages_recordings
        )
        if not allowed:
            raise Refused(
                Rejection(403, NOT_CREATOR, "no permission to read this meeting's recordings")
            )

    # --- GET /v1/addresses/{record_file_id} ----------------------------------------------------

    def addresses(self, record_file_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        operator = self._operator(query)
        meeting, _ = self._listed_file(record_file_id)
        self._require_access(operator, meeting)
        expires = int(self._clock()) + DOWNLOAD_ADDRESS_TTL
        return {
            "record_file_id": record_file_id,
            "meeting_id": meeting.meeting_id,
            "meeting_code": meeting.meeting_code,
            "subject": meeting.subject,
            "view_address": view_address(record_file_id),
            "download_address": (
                f"https://cos.fake-tencent.invalid/record/{record_file_id}.mp4"
                f"?sign={uuid.uuid4().hex}&t={expires}"
            ),
            "download_address_file_type": "MP4",
            "audio_address": "",
            "audio_address_file_type": "",
            "meeting_summary": [],
            "ai_meeting_transcripts": [],
            "ai_minutes": [],
        }

    def _listed_file(self, record_file_id: str) -> tuple[RecordedMeeting, FakeRecordFile]:
        for meeting in self._meetings.values():
            for recording in meeting.recordings:
                if recording.state != DONE:
                    continue
                for file in recording.files:
                    if file.record_file_id == record_file_id:
                        return meeting, file
        raise Refused(Rejection(500, MEETING_ID_NOT_FOUND, "record file not exist"))


def _window(query: Mapping[str, str]) -> tuple[int, int]:
    start = _seconds(query, "start_time")
    end = _seconds(query, "end_time")
    if end < start:
        raise bad_parameter("end_time must not be before start_time")
    if end - start > RECORDS_MAX_SPAN:
        raise bad_parameter("time span must be at most 31 days")
    return start, end


def _seconds(query: Mapping[str, str], name: str) -> int:
    value = required(query, name)
    if not (value.isascii() and value.isdigit()):
        raise bad_parameter(f"{name} must be Unix seconds")
    return int(value)


def _record_meeting(meeting: RecordedMeeting, recording: FakeRecording) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "meeting_record_id": recording.meeting_record_id,
        "meeting_id": meeting.meeting_id,
        "meeting_code": meeting.meeting_code,
        "subject": meeting.subject,
        "host_user_id": meeting.creator,
        "media_start_time": _ms(recording.media_start),
        "state": recording.state,
        "record_type": recording.record_type,
    }
    if recording.state == DONE:
        entry["record_files"] = [
            _record_file(meeting, file, recording.sharing) for file in recording.files
        ]
    return entry


def _record_file(
    meeting: RecordedMeeting, file: FakeRecordFile, sharing: RecordingSharing | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "record_file_id": file.record_file_id,
        "record_start_time": _ms(file.start),
        "record_end_time": _ms(file.end),
        "record_size": file.size,
        "sharing_state": 0 if sharing is None else 1,
    }
    if sharing is not None:
        entry |= {
            "sharing_url": sharing_url(meeting.meeting_id),
            "password": sharing.password,
            "sharing_expire": 0 if sharing.expires is None else _ms(sharing.expires),
            "required_same_corp": sharing.required_same_corp,
            "required_participant": sharing.required_participant,
            "allow_download": sharing.allow_download,
        }
    return entry
