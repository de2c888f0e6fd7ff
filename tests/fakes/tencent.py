"""A fake Tencent Meeting REST API, and the pytest fixtures that start it.

It is a real aiohttp server on 127.0.0.1 that checks every request the way Tencent does (headers,
AppId/SecretId/SdkId, clock skew, replayed nonces, the signature over the raw URI and body), keeps
creator-only permission and the documented error codes, counts a call quota, records every call and
can inject latency and faults. The bot talks HTTP to it exactly as it would to Tencent.

Where Tencent's behaviour is not pinned down by spec/tencent-meeting.md, this fake chooses:
- 200003 (bad signature) answers HTTP 500, as Tencent's own support article shows it; 190300,
  190301 and 190303 answer HTTP 400 (Tencent: "API request errors are 400").
- 190310 (over quota) answers HTTP 429. The client must key on the error code, never the status.
- The quota is a sliding window of `quota_window` seconds (60 by default) over every authenticated
  call, refused ones included: hammering while over quota keeps you over quota.
- A malformed parameter (missing userid, page_size > 20, ...) answers 400 with error_code 10001.
  So does a history query whose window ends before it starts or spans over 90 days (200003 would
  be the bad-signature code here, which the client rightly reads as a credentials problem).
- The history query (`/v1/history/meetings/{userid}`) lists the meetings added with an `end` that
  the user created or attended, whose end falls in [start_time, end_time] (both inclusive), newest
  end first. With one bound it assumes a 31-day window from it, with none the last 31 days.
- Header names are checked case-sensitively, as Tencent documents.
- Cloud recordings (`GET /v1/records`, `GET /v1/addresses/{id}`) are served by
  `tests.fakes.tencent_records`, whose docstring lists its own choices; the wire rules every
  endpoint shares are in `tests.fakes.tencent_protocol`.
- Every call is recorded with its endpoint's name (`calls_to`, `call_counts`), so that a test can
  assert that an answer cost no Tencent call.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from bot.meeting.client import TencentMeetingClient
from bot.meeting.models import LiveReplay
from bot.meeting.quota import CallBudget
from bot.meeting.signing import Credentials, build_uri, signed_headers

# The wire rules live in tencent_protocol; the names tests import from here stay importable here.
from tests.fakes.tencent_protocol import BAD_IDENTITY as BAD_IDENTITY
from tests.fakes.tencent_protocol import (
    BAD_PARAMETER,
    MAX_PAGE_SIZE,
    MEETING_CODE_NOT_FOUND,
    MEETING_ID_NOT_FOUND,
    NONCE_REPLAYED,
    NOT_CREATOR,
    OVER_QUOTA,
    REPLAY_WINDOW,
    USER_NOT_REGISTERED,
    Refused,
    Rejection,
    error_body,
    instance_id,
    optional_positive_int,
    optional_seconds,
    positive_int,
    required,
    unix_seconds,
    verify_request,
)
from tests.fakes.tencent_protocol import BAD_SIGNATURE as BAD_SIGNATURE
from tests.fakes.tencent_protocol import CLOCK_SKEW as CLOCK_SKEW
from tests.fakes.tencent_protocol import TIMESTAMP_SKEW as TIMESTAMP_SKEW
from tests.fakes.tencent_records import (
    CLOUD_RECORDING,
    DONE,
    TRANSCODING,
    FakeRecording,
    RecordingSharing,
    RecordsApi,
    sharing_url,
)
from tests.fakes.tencent_webhook import RECORDING_COMPLETED, RECORDING_DELETED, recording_event

HISTORY_DEFAULT_PAGE_SIZE = 10
HISTORY_MAX_SPAN = 90 * 86400
HISTORY_ONE_BOUND_SPAN = 31 * 86400

# The example of the live-replays API page (spec/live-replays-api.zh.txt).
SPEC_EXAMPLE_MEETING_ID = "1900004128969145064"
SPEC_EXAMPLE_MEETING_CODE = "13418515243"
SPEC_EXAMPLE_SUBJECT = "tester预定的会议"
SPEC_EXAMPLE_CREATOR = "tester"
SPEC_EXAMPLE_REPLAYS = (
    {
        "video_url": "https://meeting.tencent.com/l/xxxx",
        "live_subject": "tester预定的会议",
        "live_room_id": "206830819",
    },
    {
        "video_url": "https://meeting.tencent.com/l/xxxx",
        "live_subject": "leonxsun预定的会议",
        "live_room_id": "112594341",
    },
)

DEFAULT_CREDENTIALS = Credentials(
    app_id="211000001",
    secret_id="AKIDfakeTencentSecretId00000001",
    secret_key="fake-tencent-secret-key-0123456789",
)


@dataclass
class RecordedCall:
    """One request as the fake saw it; `status` stays None while it is unanswered (or hung)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    time: float
    trace_id: str
    status: int | None = None
    error_code: int | None = None
    #: the route's name ("records", "addresses", "replays_by_code", ...); "" for an unknown path
    endpoint: str = ""


@dataclass
class FakeUser:
    userid: str
    email: str = ""
    username: str = ""
    phone: str = ""
    status: str = "1"
    #: may read every recording of the enterprise
    super_admin: bool = False
    #: has recording-management rights: may read every recording too
    manages_recordings: bool = False

    def as_json(self) -> dict[str, str]:
        return {
            "userid": self.userid,
            "username": self.username,
            "email": self.email,
            "phone": self.phone,
            "status": self.status,
        }


@dataclass
class FakeMeeting:
    meeting_id: str
    meeting_code: str
    subject: str
    creator: str
    replays: list[dict[str, str]]
    replays_appear_after: int = 0
    lookups: int = 0
    #: Unix seconds; a meeting is in the history query only once it has an end
    start_time: int | None = None
    end_time: int | None = None
    #: users who attended without creating it: they see it in their history, not its replays
    attendees: set[str] = field(default_factory=set)
    meeting_type: int = 0
    #: cloud recordings, seeded with FakeTencent.add_recording
    recordings: list[FakeRecording] = field(default_factory=list)

    def history_info(self) -> dict[str, Any]:
        # Times as strings of Unix seconds, as Tencent sends them.
        return {
            "meeting_id": self.meeting_id,
            "meeting_code": self.meeting_code,
            "subject": self.subject,
            "start_time": str(self.start_time or 0),
            "end_time": str(self.end_time or 0),
            "meeting_type": self.meeting_type,
        }

    def info(self) -> dict[str, Any]:
        # Replays only "appear" after some look-ups, like a live replay still being processed.
        ready = self.lookups > self.replays_appear_after
        return {
            "meeting_id": self.meeting_id,
            "meeting_code": self.meeting_code,
            "subject": self.subject,
            "live_replay_list": list(self.replays) if ready else [],
        }


# Where an error answer keeps its code for the call record.
_ERROR_CODE = web.ResponseKey("error_code", int)


@dataclass(frozen=True)
class _Fault:
    kind: str
    status: int = 502
    error_code: int | None = None


@dataclass
class _State:
    users: dict[str, FakeUser] = field(default_factory=dict)
    meetings: dict[str, FakeMeeting] = field(default_factory=dict)
    seen_nonces: dict[tuple[str, str], float] = field(default_factory=dict)
    quota_times: deque[float] = field(default_factory=deque)
    faults: deque[_Fault] = field(default_factory=deque)


class FakeTencent:
    """The fake API server: `async with FakeTencent() as fake:`, or the `fake_tencent` fixture."""

    def __init__(
        self,
        *,
        app_id: str = DEFAULT_CREDENTIALS.app_id,
        secret_id: str = DEFAULT_CREDENTIALS.secret_id,
        secret_key: str = DEFAULT_CREDENTIALS.secret_key,
        sdk_id: str | None = None,
        calls_per_minute: int = 300,
        quota_window: float = 60.0,
        latency: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = Credentials(app_id, secret_id, secret_key, sdk_id)
        self.calls_per_minute = calls_per_minute
        self.quota_window = quota_window
        self.latency = latency
        self.clock = clock
        self.calls: list[RecordedCall] = []
        self._state = _State()
        self._recordings = RecordsApi(self._state.users, self._state.meetings, lambda: self.clock())
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> FakeTencent:
        app = web.Application(middlewares=[self._middleware])
        # The route names are the endpoint names of `calls_to` and `call_counts`.
        add = app.router.add_get
        add("/v1/meetings/live_play/replays", self._replays_by_code, name="replays_by_code")
        add(
            "/v1/meetings/{meeting_id}/live_play/replays", self._replays_by_id, name="replays_by_id"
        )
        add("/v1/users/list", self._user_list, name="user_list")
        add("/v1/history/meetings/{userid}", self._history, name="history")
        add("/v1/users/{userid}", self._user_detail, name="user_detail")
        add("/v1/records", self._records, name="records")
        add("/v1/addresses/{record_file_id}", self._addresses, name="addresses")
        # handler_cancellation: a hung answer ends when the client hangs up, not at shutdown.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTencent:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- state ---------------------------------------------------------------------------------

    @property
    def credentials(self) -> Credentials:
        """What a correctly configured client uses to talk to this fake."""
        return self._credentials

    def add_user(
        self,
        userid: str,
        *,
        email: str = "",
        username: str = "",
        phone: str = "",
        super_admin: bool = False,
        manages_recordings: bool = False,
    ) -> FakeUser:
        """A registered user; a super admin or recording manager may read every recording."""
        user = FakeUser(
            userid,
            email=email,
            username=username or userid,
            phone=phone,
            super_admin=super_admin,
            manages_recordings=manages_recordings,
        )
        self._state.users[userid] = user
        return user

    def add_meeting(
        self,
        meeting_id: str,
        meeting_code: str,
        *,
        subject: str,
        creator: str,
        replays: list[dict[str, str]] | list[LiveReplay] | tuple[dict[str, str], ...] = (),
        replays_appear_after: int = 0,
        start: datetime | None = None,
        end: datetime | None = None,
        attendees: Iterable[str] = (),
        meeting_type: int = 0,
    ) -> FakeMeeting:
        """A meeting; its replays list is empty for its first `replays_appear_after` look-ups.

        With an `end` (aware datetimes) it is in the history query of its creator and attendees.
        """
        rows = [r.model_dump() if isinstance(r, LiveReplay) else dict(r) for r in replays]
        meeting = FakeMeeting(
            meeting_id,
            meeting_code,
            subject,
            creator,
            rows,
            replays_appear_after,
            start_time=unix_seconds(start),
            end_time=unix_seconds(end),
            attendees=set(attendees),
            meeting_type=meeting_type,
        )
        self._state.meetings[meeting_id] = meeting
        return meeting

    def add_spec_example(self) -> FakeMeeting:
        """The API page's own example: meeting 1900004128969145064 / 13418515243 by `tester`."""
        if SPEC_EXAMPLE_CREATOR not in self._state.users:
            self.add_user(SPEC_EXAMPLE_CREATOR, email="tester@example.com")
        return self.add_meeting(
            SPEC_EXAMPLE_MEETING_ID,
            SPEC_EXAMPLE_MEETING_CODE,
            subject=SPEC_EXAMPLE_SUBJECT,
            creator=SPEC_EXAMPLE_CREATOR,
            replays=list(SPEC_EXAMPLE_REPLAYS),
        )

    def meeting(self, meeting_id: str) -> FakeMeeting:
        return self._state.meetings[meeting_id]

    # --- cloud recordings (tests.fakes.tencent_records) -----------------------------------------

    def add_recording(
        self,
        meeting_id: str,
        *,
        start: datetime | None = None,
        state: int = DONE,
        files: int | Sequence[tuple[timedelta, int]] = 1,
        sharing: RecordingSharing | None = None,
        record_type: int = CLOUD_RECORDING,
    ) -> FakeRecording:
        """A cloud recording of an added meeting; `sharing` None means sharing is off.

        `start` (aware; by default the meeting's start, else an hour ago) is its media_start_time.
        `files` is a number of 30-minute files of 50 MB, or (length, size in bytes) per file, one
        after the other from `start`. `state` 1 recording, 2 transcoding, 3 done (files listed).
        """
        meeting = self._state.meetings[meeting_id]
        if start is None:
            seconds = meeting.start_time or int(self.clock()) - 3600
            start = datetime.fromtimestamp(seconds, UTC)
        return self._recordings.add_recording(
            meeting,
            start=start,
            state=state,
            files=files,
            sharing=sharing,
            record_type=record_type,
        )

    def recordings(self, meeting_id: str) -> list[FakeRecording]:
        return self._state.meetings[meeting_id].recordings

    def finish_transcoding(self, meeting_id: str) -> list[FakeRecording]:
        """Every recording of the meeting still being transcoded (state 2) is done (3) now."""
        done = [r for r in self.recordings(meeting_id) if r.state == TRANSCODING]
        for recording in done:
            recording.state = DONE
        return done

    def set_sharing(self, meeting_id: str, sharing: RecordingSharing | None) -> None:
        """Turn sharing on (with these settings) or off for every recording of the meeting."""
        for recording in self.recordings(meeting_id):
            recording.sharing = sharing

    def delete_recordings(self, meeting_id: str) -> list[FakeRecording]:
        """Remove the meeting's recordings (as its creator would); returns what was removed."""
        meeting = self._state.meetings[meeting_id]
        removed, meeting.recordings = meeting.recordings, []
        return removed

    def sharing_url(self, meeting_id: str) -> str:
        """The one link Tencent gives for all shared files of this meeting."""
        return sharing_url(meeting_id)

    def recording_completed_event(
        self, meeting_id: str, recordings: Sequence[FakeRecording] | None = None
    ) -> dict[str, Any]:
        """The `recording.completed` event Tencent would send for these (default: all done)."""
        chosen = recordings if recordings is not None else self.recordings(meeting_id)
        files = [i for r in chosen if r.state == DONE for i in r.record_file_ids]
        return self._recording_event(RECORDING_COMPLETED, meeting_id, files)

    def recording_deleted_event(
        self, meeting_id: str, recordings: Sequence[FakeRecording]
    ) -> dict[str, Any]:
        """The `recording.deleted` event for recordings removed with `delete_recordings`."""
        files = [i for r in recordings for i in r.record_file_ids]
        return self._recording_event(RECORDING_DELETED, meeting_id, files)

    def _recording_event(self, event: str, meeting_id: str, files: list[str]) -> dict[str, Any]:
        meeting = self._state.meetings[meeting_id]
        creator = self._state.users.get(meeting.creator)
        return recording_event(
            event,
            meeting.meeting_id,
            meeting.meeting_code,
            meeting.subject,
            meeting.creator,
            files,
            start_time=meeting.start_time,
            end_time=meeting.end_time,
            creator_name=creator.username if creator else meeting.creator,
            meeting_type=meeting.meeting_type,
        )

    # --- what was called -----------------------------------------------------------------------

    def calls_to(self, endpoint: str) -> list[RecordedCall]:
        """The calls to one endpoint, by route name: "records", "addresses", "history", ..."""
        return [call for call in self.calls if call.endpoint == endpoint]

    def call_counts(self) -> Counter[str]:
        """How many calls each endpoint got (refused ones included)."""
        return Counter(call.endpoint for call in self.calls)

    # --- fault injection -----------------------------------------------------------------------

    def fail_next(self, n: int = 1, *, status: int = 502, error_code: int | None = None) -> None:
        """The next `n` requests fail: a Tencent error body with `error_code`, or a proxy's page."""
        self._queue_faults(n, _Fault("fail", status, error_code))

    def hang_next(self, n: int = 1) -> None:
        """The next `n` requests are never answered (until the client gives up)."""
        self._queue_faults(n, _Fault("hang"))

    def garbage_next(self, n: int = 1) -> None:
        """The next `n` requests get HTTP 200 with a body that is not JSON."""
        self._queue_faults(n, _Fault("garbage"))

    def missing_fields_next(self, n: int = 1) -> None:
        """The next `n` answers are JSON without their required fields (meeting_id, userid, ...)."""
        self._queue_faults(n, _Fault("missing_fields"))

    def _queue_faults(self, n: int, fault: _Fault) -> None:
        self._state.faults.extend([fault] * n)

    # --- request pipeline ----------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        call = self._record(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self._state.faults.popleft() if self._state.faults else None
        try:
            response = await self._answer(request, handler, call, fault)
        except Refused as refused:
            response = self._error(refused.rejection)
        call.status = response.status
        call.error_code = response.get(_ERROR_CODE)
        response.headers["X-TC-Trace"] = call.trace_id
        return response

    async def _answer(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Any],
        call: RecordedCall,
        fault: _Fault | None,
    ) -> web.StreamResponse:
        if fault is not None and fault.kind != "missing_fields":
            return await self._faulty(fault)
        await self._authenticate(request, call)
        self._count_quota()
        response: web.Response = await handler(request)
        if fault is not None and response.status == 200 and response.text:
            stripped = _strip_required(json.loads(response.text))
            response = self._json(stripped)
        return response

    def _record(self, request: web.Request) -> RecordedCall:
        call = RecordedCall(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=_raw_headers(request),
            time=time.monotonic(),
            trace_id=uuid.uuid4().hex,
            endpoint=request.match_info.route.name or "",
        )
        self.calls.append(call)
        return call

    async def _faulty(self, fault: _Fault) -> web.Response:
        if fault.kind == "hang":
            await self._closing.wait()
            return web.Response(status=504, text="shutting down")
        if fault.kind == "garbage":
            return web.Response(status=200, text="<html>Service temporarily busy</html>")
        if fault.error_code is not None:
            return self._error(Rejection(fault.status, fault.error_code, "injected failure"))
        return web.Response(status=fault.status, text=f"<html><h1>{fault.status}</h1>nginx</html>")

    async def _authenticate(self, request: web.Request, call: RecordedCall) -> None:
        body = (await request.read()).decode("utf-8", errors="replace")
        now = self.clock()
        rejection = verify_request(
            call.headers,
            method=request.method,
            uri=request.raw_path,
            body=body,
            credentials=self._credentials,
            now=now,
        )
        if rejection is None:
            rejection = self._check_replay(call.headers, now)
        if rejection is not None:
            raise Refused(rejection)

    def _check_replay(self, headers: Mapping[str, str], now: float) -> Rejection | None:
        seen = self._state.seen_nonces
        for key, when in list(seen.items()):
            if now - when > REPLAY_WINDOW:
                del seen[key]
        key = (headers["X-TC-Timestamp"], headers["X-TC-Nonce"])
        if key in seen:
            return Rejection(400, NONCE_REPLAYED, "X-TC-Nonce replayed")
        seen[key] = now
        return None

    def _count_quota(self) -> None:
        now = time.monotonic()
        times = self._state.quota_times
        while times and times[0] <= now - self.quota_window:
            times.popleft()
        times.append(now)
        if len(times) > self.calls_per_minute:
            raise Refused(Rejection(429, OVER_QUOTA, "app over its calls-per-minute quota"))

    # --- endpoints -----------------------------------------------------------------------------

    async def _replays_by_code(self, request: web.Request) -> web.Response:
        userid = self._registered_user(request.query, "userid")
        instance_id(request.query)
        code = required(request.query, "meeting_code")
        meeting = next((m for m in self._state.meetings.values() if m.meeting_code == code), None)
        if meeting is None:
            raise Refused(Rejection(400, MEETING_CODE_NOT_FOUND, "meeting code not exist"))
        return self._replays(meeting, userid)

    async def _replays_by_id(self, request: web.Request) -> web.Response:
        userid = self._registered_user(request.query, "userid")
        instance_id(request.query)
        meeting = self._state.meetings.get(request.match_info["meeting_id"])
        if meeting is None:
            raise Refused(Rejection(500, MEETING_ID_NOT_FOUND, "MEETING NOT EXIST"))
        return self._replays(meeting, userid)

    def _replays(self, meeting: FakeMeeting, userid: str) -> web.Response:
        if meeting.creator != userid:
            raise Refused(Rejection(403, NOT_CREATOR, "only the meeting creator may query"))
        meeting.lookups += 1
        return self._json({"meeting_number": 1, "meeting_info_list": [meeting.info()]})

    async def _records(self, request: web.Request) -> web.Response:
        return self._json(self._recordings.records(request.query))

    async def _addresses(self, request: web.Request) -> web.Response:
        record_file_id = request.match_info["record_file_id"]
        return self._json(self._recordings.addresses(record_file_id, request.query))

    async def _user_detail(self, request: web.Request) -> web.Response:
        self._registered_user(request.query, "operator_id")
        user = self._state.users.get(request.match_info["userid"])
        if user is None:
            raise Refused(Rejection(500, USER_NOT_REGISTERED, "user not exist"))
        return self._json(user.as_json())

    async def _user_list(self, request: web.Request) -> web.Response:
        self._registered_user(request.query, "operator_id")
        page = positive_int(request.query, "page")
        page_size = positive_int(request.query, "page_size")
        if page_size > MAX_PAGE_SIZE:
            raise Refused(Rejection(400, BAD_PARAMETER, "page_size must be at most 20"))
        users = list(self._state.users.values())
        chunk = users[(page - 1) * page_size : page * page_size]
        return self._json(
            {
                "total_count": len(users),
                "current_size": len(chunk),
                "current_page": page,
                "page_size": page_size,
                "users": [user.as_json() for user in chunk],
            }
        )

    async def _history(self, request: web.Request) -> web.Response:
        userid = request.match_info["userid"]
        if userid not in self._state.users:
            raise Refused(Rejection(500, USER_NOT_REGISTERED, "user not exist"))
        instance_id(request.query)
        page_size = optional_positive_int(request.query, "page_size", HISTORY_DEFAULT_PAGE_SIZE)
        page = optional_positive_int(request.query, "page", 1)
        if page_size > MAX_PAGE_SIZE:
            raise Refused(Rejection(400, BAD_PARAMETER, "page_size must be at most 20"))
        start, end = self._history_window(request.query)
        ended = sorted(
            (
                m
                for m in self._state.meetings.values()
                if (m.creator == userid or userid in m.attendees)
                and m.end_time is not None
                and start <= m.end_time <= end
            ),
            key=lambda m: (m.end_time or 0, m.start_time or 0, m.meeting_id),
            reverse=True,
        )
        chunk = ended[(page - 1) * page_size : page * page_size]
        return self._json(
            {
                "total_count": len(ended),
                "total_page": math.ceil(len(ended) / page_size),
                "current_page": page,
                "current_size": len(chunk),
                "meeting_info_list": [m.history_info() for m in chunk],
            }
        )

    def _history_window(self, query: Mapping[str, str]) -> tuple[int, int]:
        start = optional_seconds(query, "start_time")
        end = optional_seconds(query, "end_time")
        if start is None and end is None:
            end = int(self.clock())
        if start is None:
            assert end is not None
            start = end - HISTORY_ONE_BOUND_SPAN
        if end is None:
            end = start + HISTORY_ONE_BOUND_SPAN
        if end < start:
            raise Refused(Rejection(400, BAD_PARAMETER, "end_time must not be before start_time"))
        if end - start > HISTORY_MAX_SPAN:
            raise Refused(Rejection(400, BAD_PARAMETER, "time span must be at most 90 days"))
        return start, end

    def _registered_user(self, query: Mapping[str, str], name: str) -> str:
        userid = required(query, name)
        if userid not in self._state.users:
            raise Refused(Rejection(500, USER_NOT_REGISTERED, f"{name} is not a registered user"))
        return userid

    # --- responses -----------------------------------------------------------------------------

    @staticmethod
    def _json(body: object, status: int = 200) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(body, ensure_ascii=False),
            content_type="application/json",
        )

    def _error(self, rejection: Rejection) -> web.Response:
        response = self._json(error_body(rejection.error_code, rejection.message), rejection.status)
        response[_ERROR_CODE] = rejection.error_code
        return response


def _raw_headers(request: web.Request) -> dict[str, str]:
    """Header names exactly as sent (Tencent's are case-sensitive), unlike request.headers."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in request.raw_headers}


_REQUIRED_FIELDS = frozenset({"meeting_id", "video_url", "userid", "record_file_id"})


def _strip_required(value: Any) -> Any:
    """The same JSON without the fields our models require."""
    if isinstance(value, dict):
        return {k: _strip_required(v) for k, v in value.items() if k not in _REQUIRED_FIELDS}
    if isinstance(value, list):
        return [_strip_required(item) for item in value]
    return value


# --- pytest fixtures (this module is a pytest plugin, see tests/conftest.py) -------------------


def client_for(
    fake: FakeTencent, session: aiohttp.ClientSession, **overrides: Any
) -> TencentMeetingClient:
    """A client configured for `fake`, with short timeouts so that failing tests fail fast."""
    settings: dict[str, Any] = {
        "base_url": fake.base_url,
        "budget": CallBudget(300, 60.0),
        "call_timeout": 1.0,
        "total_timeout": 3.0,
        "max_attempts": 3,
        "backoff_base": 0.02,
    }
    settings.update(overrides)
    credentials = settings.pop("credentials", fake.credentials)
    return TencentMeetingClient(session, credentials, **settings)


async def signed_get(
    session: aiohttp.ClientSession,
    fake: FakeTencent,
    path: str,
    params: Sequence[tuple[str, str | int]] = (),
) -> tuple[int, Any]:
    """GET `path` signed as Tencent expects, without the bot's client: (status, parsed JSON body).

    For tests of the fake itself and of endpoints the client does not call yet.
    """
    uri = build_uri(path, params)
    headers = signed_headers(
        fake.credentials,
        method="GET",
        uri=uri,
        body="",
        timestamp=int(fake.clock()),
        nonce=secrets.randbelow(10**9) + 1,
    )
    async with session.get(URL(fake.base_url + uri, encoded=True), headers=headers) as response:
        return response.status, json.loads(await response.text())


@pytest.fixture
async def fake_tencent() -> AsyncIterator[FakeTencent]:
    """A running fake with the API page's example meeting and its creator `tester`."""
    async with FakeTencent() as fake:
        fake.add_spec_example()
        yield fake


@pytest.fixture
async def tencent_client(fake_tencent: FakeTencent) -> AsyncIterator[TencentMeetingClient]:
    """A TencentMeetingClient talking to `fake_tencent` over its own session."""
    async with aiohttp.ClientSession() as session:
        yield client_for(fake_tencent, session)
