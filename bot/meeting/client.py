"""The signed Tencent Meeting REST client: replay and recording look-ups, user look-ups and
meeting history.

It is the core's meeting service (`bot.core.sources`): every answer is handed on in the core's
words (`bot.core.meetings`). Every call goes through one path (`_get`): take a turn from the shared
call budget, sign the exact URI that is sent, time-box the attempt, map failures to typed errors
(`bot.core.failures.MeetingServiceError`s, see `bot.meeting.errors`), retry only what can succeed
on retry (network trouble, 5xx without a permanent code, quota) with jittered backoff, all within
one total deadline.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import aiohttp
from yarl import URL

from bot.core.lanes import current_claim, lane_of
from bot.core.meetings import DirectoryUser, History, Meeting
from bot.core.sources import Recorded
from bot.meeting.errors import (
    Model,
    QuotaExceededError,
    RateLimitTimeoutError,
    TencentMeetingError,
    UnavailableError,
    error_from_response,
    error_label,
    parse_body,
)
from bot.meeting.models import (
    HistoryMeeting,
    HistoryPage,
    ReplaysResponse,
    TencentUser,
    UserListPage,
)
from bot.meeting.quota import CallBudget
from bot.meeting.recording_models import RecordAddresses, RecordsPage
from bot.meeting.records import Params, operator, read_records
from bot.meeting.signing import Credentials, QueryValue, build_uri, safe_token, signed_headers

log = logging.getLogger(__name__)

#: Tencent's largest page of the user list.
MAX_PAGE_SIZE = 20
#: A server that keeps answering full pages must not keep us looping (20,000 users at 20 a page).
MAX_USER_PAGES = 1000
#: The longest window Tencent's history query accepts (longer ones are refused).
MAX_HISTORY_SPAN = timedelta(days=90)
_OPERATOR_ID_TYPE_USERID = 1
_MAX_NONCE = 2**31 - 1


class CallObserver(Protocol):
    """What is told about each attempt and each wait for the budget (`bot.metrics.Metrics`)."""

    def tencent_call(self, endpoint: str, error_code: str, seconds: float) -> None:
        """One attempt at `endpoint` ended: `error_code` is "0" for success, Tencent's error code,
        `http_<status>` without one, `malformed`, or `unreachable` (no answer at all)."""
        ...

    def budget_waited(self, seconds: float, *, lane: str, exhausted: bool = False) -> None:
        """A call in `lane` (`bot.core.lanes.Lane`) waited `seconds` for its turn; `exhausted`:
        its turn was too far away."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """How long one attempt and the whole call may take, and how retries are spaced."""

    max_attempts: int = 3
    call_timeout: float = 4.0
    total_timeout: float = 8.0
    backoff_base: float = 0.25
    backoff_cap: float = 2.0

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))], so retries spread out."""
        return random.uniform(0.0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))


class TencentMeetingClient:
    """Tencent Meeting calls this app makes, over one shared aiohttp session and call budget."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: Credentials,
        *,
        base_url: str,
        instance_id: int = 1,
        budget: CallBudget,
        call_timeout: float = 4.0,
        total_timeout: float = 8.0,
        max_attempts: int = 3,
        backoff_base: float = 0.25,
        clock: Callable[[], float] = time.time,
        observer: CallObserver | None = None,
    ) -> None:
        self._session = session
        self._observer = observer
        self._credentials = credentials
        self._base_url = base_url.rstrip("/")
        self._instance_id = instance_id
        self._budget = budget
        self._clock = clock
        self.retry = RetryPolicy(
            max_attempts=max(1, max_attempts),
            call_timeout=call_timeout,
            total_timeout=total_timeout,
            backoff_base=backoff_base,
        )

    @property
    def budget(self) -> CallBudget:
        return self._budget

    async def replays_by_code(self, meeting_code: str, *, userid: str) -> list[Meeting]:
        """Live replays of the meeting with this code, as its creator `userid` sees them."""
        params: list[tuple[str, QueryValue]] = [
            ("meeting_code", meeting_code),
            ("userid", userid),
            ("instanceid", self._instance_id),
        ]
        response = await self._get(
            "replays_by_code",
            "/v1/meetings/live_play/replays",
            params,
            ReplaysResponse,
            owner=userid,
        )
        return [meeting.core() for meeting in response.meeting_info_list]

    async def replays_by_id(self, meeting_id: str, *, userid: str) -> list[Meeting]:
        """Live replays of the meeting with this ID, as its creator `userid` sees them."""
        path = f"/v1/meetings/{safe_token(meeting_id, what='meeting_id')}/live_play/replays"
        params: list[tuple[str, QueryValue]] = [
            ("userid", userid),
            ("instanceid", self._instance_id),
        ]
        response = await self._get("replays_by_id", path, params, ReplaysResponse, owner=userid)
        return [meeting.core() for meeting in response.meeting_info_list]

    async def recordings_by_code(self, meeting_code: str, *, userid: str) -> list[Recorded]:
        """Cloud recordings of the meeting with this code (last 31 days), asked as `userid`."""
        return await self._recordings(("meeting_code", meeting_code), userid)

    async def recordings_by_id(self, meeting_id: str, *, userid: str) -> list[Recorded]:
        """Cloud recordings of the meeting with this ID (last 31 days), asked as `userid`."""
        return await self._recordings(("meeting_id", meeting_id), userid)

    async def _recordings(self, meeting: tuple[str, str], userid: str) -> list[Recorded]:
        # No `owner`: a look-up asks the recordings only right after the replays, whose call was
        # admitted under the person's fair share; holding the follow-ups (a bounded few) to it
        # too would halve the look-ups a person may make and could waste that first call.
        async def page(params: Params) -> RecordsPage:
            return await self._get("records", "/v1/records", params, RecordsPage)

        return await read_records(page, meeting, userid=userid, now=self._clock())

    async def player_page(self, file_id: str, *, userid: str) -> str:
        """Tencent's own player page of one recording file, asked as `userid`; the download
        address in the same answer is dropped here and never leaves this method."""
        path = f"/v1/addresses/{safe_token(file_id, what='record_file_id')}"
        # No `owner`, as for the recordings: a bounded follow-up of a look-up already admitted.
        addresses = await self._get("addresses", path, operator(userid), RecordAddresses)
        return addresses.view_address.strip()

    async def user_detail(self, userid: str, *, operator_id: str) -> DirectoryUser:
        """One user of the enterprise, looked up by an admin (`operator_id`)."""
        path = f"/v1/users/{safe_token(userid, what='userid')}"
        params: list[tuple[str, QueryValue]] = [
            ("operator_id", operator_id),
            ("operator_id_type", _OPERATOR_ID_TYPE_USERID),
        ]
        user = await self._get("user_detail", path, params, TencentUser)
        return user.core()

    async def list_users(
        self, *, operator_id: str, page_size: int = MAX_PAGE_SIZE
    ) -> list[DirectoryUser]:
        """Every user of the enterprise, page by page."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        users: dict[str, TencentUser] = {}
        for page_number in range(1, MAX_USER_PAGES + 1):
            page = await self._user_page(page_number, page_size, operator_id)
            new = [user for user in page.users if user.userid not in users]
            users.update((user.userid, user) for user in new)
            # A repeated page means the server ignores `page`: stop rather than loop forever.
            if not new or len(page.users) < page_size or len(users) >= page.total_count:
                break
        else:
            log.warning("Tencent user list still going after %d pages; stopped", MAX_USER_PAGES)
        return [user.core() for user in users.values()]

    async def ended_meetings(
        self, userid: str, *, start: datetime, end: datetime, max_pages: int = 10
    ) -> History:
        """Meetings `userid` created or attended that ended between `start` and `end`, newest first.

        Pages of 20 are followed until the last one or `max_pages`; each page is one budgeted,
        signed call, and `History.calls` counts them. Both bounds are always sent (with one alone Tencent picks a 31-day window).
        ValueError, before any call, for naive datetimes, `end` before `start`, a span over 90 days
        (Tencent refuses those) or `max_pages` below 1.
        """
        path = f"/v1/history/meetings/{safe_token(userid, what='userid')}"
        start_time, end_time = _unix_seconds(start, "start"), _unix_seconds(end, "end")
        if end_time < start_time:
            raise ValueError("end must not be before start")
        if end_time - start_time > MAX_HISTORY_SPAN.total_seconds():
            raise ValueError(f"start and end must be at most {MAX_HISTORY_SPAN.days} days apart")
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        meetings: dict[tuple[str, datetime | None, datetime | None], HistoryMeeting] = {}
        pages = 0
        for page_number in range(1, max_pages + 1):
            params: list[tuple[str, QueryValue]] = [
                ("page_size", MAX_PAGE_SIZE),
                ("page", page_number),
                ("start_time", start_time),
                ("end_time", end_time),
                ("instanceid", self._instance_id),
            ]
            page = await self._get("history_meetings", path, params, HistoryPage)
            pages = page_number
            # Occurrences of a recurring meeting can share a meeting_id, so the times are in the key.
            new = {
                (m.meeting_id, m.start_time, m.end_time): m
                for m in page.meeting_info_list
                if (m.meeting_id, m.start_time, m.end_time) not in meetings
            }
            meetings.update(new)
            last = page.is_last(
                page_number, received=len(page.meeting_info_list), page_size=MAX_PAGE_SIZE
            )
            # A repeated page means the server ignores `page`: stop rather than loop.
            if last or not new:
                break
        else:
            log.info("Tencent history of %s: stopped after %d pages", userid, max_pages)
        return History(tuple(m.core() for m in meetings.values()), calls=pages)

    async def _user_page(self, page: int, page_size: int, operator_id: str) -> UserListPage:
        params: list[tuple[str, QueryValue]] = [
            ("page", page),
            ("page_size", page_size),
            ("operator_id", operator_id),
            ("operator_id_type", _OPERATOR_ID_TYPE_USERID),
        ]
        return await self._get("users_list", "/v1/users/list", params, UserListPage)

    async def _get(
        self,
        endpoint: str,
        path: str,
        params: Sequence[tuple[str, QueryValue]],
        model: type[Model],
        *,
        owner: str | None = None,
    ) -> Model:
        """One signed GET with budget, timeouts and retries; the body parsed as `model`.
        `endpoint` names the call for the observer (a path would carry userids and IDs); `owner`,
        the userid a call is made for, is held to its fair share of the budget. The call waits for
        its turn in the lane of the work it serves (people's, unless a digest or the poller
        marked theirs as background, or the lane shared by the callers of a shared look-up)."""
        uri = build_uri(path, params)
        claim = current_claim()
        deadline = time.monotonic() + self.retry.total_timeout
        last_error: TencentMeetingError | None = None
        observer = self._observer
        for attempt in range(1, self.retry.max_attempts + 1):
            queued = time.monotonic()
            try:
                await self._budget.acquire(max_wait=deadline - queued, owner=owner, lane=claim)
            except RateLimitTimeoutError:
                if observer is not None:
                    waited = time.monotonic() - queued
                    observer.budget_waited(waited, lane=lane_of(claim), exhausted=True)
                # After a quota error the pause outlasts our deadline: Tencent's answer says more.
                if last_error is not None:
                    raise last_error from None
                raise
            started = time.monotonic()
            if observer is not None:
                observer.budget_waited(started - queued, lane=lane_of(claim))
            try:
                result = await self._attempt(uri, model, deadline)
                if observer is not None:
                    observer.tencent_call(endpoint, "0", time.monotonic() - started)
                return result
            except TencentMeetingError as error:
                if observer is not None:
                    observer.tencent_call(endpoint, error_label(error), time.monotonic() - started)
                self._log_failure(uri, error, attempt)
                if isinstance(error, QuotaExceededError):
                    self._budget.pause(self._budget.period)
                last_error = error
                if not error.retryable or attempt == self.retry.max_attempts:
                    raise
            delay = self.retry.backoff(attempt)
            if time.monotonic() + delay >= deadline:
                raise last_error
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _attempt(self, uri: str, model: type[Model], deadline: float) -> Model:
        timeout = min(self.retry.call_timeout, deadline - time.monotonic())
        if timeout <= 0:
            raise UnavailableError("no time left for another attempt")
        headers = signed_headers(
            self._credentials,
            method="GET",
            uri=uri,
            body="",
            timestamp=int(self._clock()),
            nonce=secrets.randbelow(_MAX_NONCE) + 1,
        )
        # encoded=True: send the signed URI byte for byte, with no re-quoting or re-ordering.
        url = URL(self._base_url + uri, encoded=True)
        try:
            async with self._session.get(
                url,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
                raise_for_status=False,
            ) as response:
                body = (await response.read()).decode("utf-8", errors="replace")
                status, trace_id = response.status, response.headers.get("X-TC-Trace")
        except TimeoutError:
            raise UnavailableError(f"no answer within {timeout:.1f} s") from None
        except aiohttp.ClientError as exc:
            raise UnavailableError(f"network error: {type(exc).__name__}: {exc}") from None
        if status != 200:
            raise error_from_response(status, body, trace_id)
        return parse_body(model, body, trace_id=trace_id)

    def _log_failure(self, uri: str, error: TencentMeetingError, attempt: int) -> None:
        # str(error) holds status, code, trace and Tencent's message; never headers or secrets.
        # A final answer ("not the creator", "no such meeting") is an outcome, not trouble.
        log.log(
            logging.WARNING if error.retryable else logging.INFO,
            "Tencent Meeting GET %s failed (attempt %d/%d): %s",
            uri,
            attempt,
            self.retry.max_attempts,
            error,
        )


def _unix_seconds(moment: datetime, name: str) -> int:
    """An aware datetime as whole Unix seconds; a naive one is refused rather than guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return math.floor(moment.timestamp())
