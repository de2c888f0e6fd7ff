"""TencentMeetingClient's own logic, mocked at the HTTP edge with aioresponses: no server, no sockets.

Error mapping, retries, deadlines, the call budget, malformed bodies, request signing and paging.
The call budget runs on a fake clock and the retry backoff is zero, so nothing here really waits
except the one deadline test (a few milliseconds). The end-to-end tests against the strict fake
server are in tests/meeting/test_client_http.py.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from bot.core.lanes import Lane, SharedLane, in_lane, lane_of
from bot.core.meetings import HistoryEntry
from bot.meeting import client as client_module
from bot.meeting.client import MAX_PAGE_SIZE, RetryPolicy, TencentMeetingClient
from bot.meeting.errors import (
    ERRORS_BY_CODE,
    CredentialsError,
    MalformedResponseError,
    MeetingNotFoundError,
    NotCreatorError,
    QuotaExceededError,
    RateLimitTimeoutError,
    TencentMeetingError,
    UnavailableError,
    UserNotRegisteredError,
    error_from_response,
)
from bot.meeting.models import HistoryMeeting, HistoryPage
from bot.meeting.quota import CallBudget
from bot.meeting.signing import Credentials, sign
from tests.fakes.http_mock import HttpMock, SentRequest

BASE_URL = "https://api.meeting.test"
CREDENTIALS = Credentials("211000001", "AKIDunitTestKey", "unit-test-secret-key")
NOW = 1_700_000_000.75
TRACE = {"X-TC-Trace": "trace-0001"}

BY_CODE_PATH = "/v1/meetings/live_play/replays"
USERS_PATH = "/v1/users/list"


def url_of(path: str) -> re.Pattern[str]:
    """Any query on this path (aioresponses matches against a URL whose query it sorted)."""
    return re.compile("^" + re.escape(BASE_URL + path) + r"(\?.*)?$")


BY_CODE = url_of(BY_CODE_PATH)
USERS = url_of(USERS_PATH)

MEETING_ID = "7567173273889276131"
REPLAYS: dict[str, Any] = {
    "meeting_number": 1,
    "meeting_info_list": [
        {
            "meeting_id": MEETING_ID,
            "meeting_code": "806146667",
            "subject": "weekly",
            "live_replay_list": [
                {
                    "live_room_id": "206830819",
                    "live_subject": "weekly",
                    "video_url": "https://meeting.tencent.com/l/abc",
                }
            ],
        }
    ],
}


def error_body(code: float | str, message: str = "refused") -> dict[str, Any]:
    return {"error_info": {"error_code": code, "message": message}}


# --- the budget on a fake clock, counted ----------------------------------------------------------


class FakeTime:
    """The budget's clock and sleep: sleeping moves the clock at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay
        await asyncio.sleep(0)


class CountingBudget(CallBudget):
    """A CallBudget that counts who asked for a turn and who got one, and notes in which lane."""

    def __init__(self, calls: int, period: float, fake_time: FakeTime) -> None:
        super().__init__(calls, period, clock=fake_time, sleep=fake_time.sleep)
        self.asked = 0
        self.granted = 0
        self.lanes: list[Lane] = []

    async def acquire(
        self,
        max_wait: float | None = None,
        *,
        owner: str | None = None,
        lane: Lane | SharedLane = Lane.PEOPLE,
    ) -> None:
        self.asked += 1
        self.lanes.append(lane_of(lane))
        await super().acquire(max_wait, owner=owner, lane=lane)
        self.granted += 1


class FixedBackoff(RetryPolicy):
    """Backoff without jitter, to test what the client does with a given delay."""

    def backoff(self, attempt: int) -> float:
        return self.backoff_base


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


MakeClient = Callable[..., TencentMeetingClient]


@pytest.fixture
def make_client(session: aiohttp.ClientSession, fake_time: FakeTime) -> MakeClient:
    def make(*, calls: int = 300, period: float = 60.0, **options: Any) -> TencentMeetingClient:
        values: dict[str, Any] = {
            "base_url": BASE_URL,
            "budget": CountingBudget(calls, period, fake_time),
            "call_timeout": 1.0,
            "total_timeout": 2.0,
            "backoff_base": 0.0,
            "clock": lambda: NOW,
        }
        values.update(options)
        credentials = values.pop("credentials", CREDENTIALS)
        return TencentMeetingClient(session, credentials, **values)

    return make


@pytest.fixture
def client(make_client: MakeClient) -> TencentMeetingClient:
    return make_client()


def budget_of(client: TencentMeetingClient) -> CountingBudget:
    assert isinstance(client.budget, CountingBudget)
    return client.budget


async def lookup(client: TencentMeetingClient) -> list[Any]:
    return await client.replays_by_code("806146667", userid="tester")


def signature_verifies(request: SentRequest, credentials: Credentials = CREDENTIALS) -> bool:
    expected = sign(
        secret_id=credentials.secret_id,
        secret_key=credentials.secret_key,
        method=request.method,
        uri=request.uri,
        body="",
        timestamp=request.headers["X-TC-Timestamp"],
        nonce=request.headers["X-TC-Nonce"],
    )
    return hmac.compare_digest(expected, request.headers["X-TC-Signature"])


# --- the shim's reason to exist --------------------------------------------------------------------


async def test_plain_aioresponses_still_needs_the_shim(session: aiohttp.ClientSession) -> None:
    # When this fails, aioresponses passes `stream_writer` itself: drop the shim in tests/fakes/http_mock.py.
    with aioresponses() as plain:
        plain.get(BASE_URL + "/ping", payload={})
        with pytest.raises(TypeError, match="stream_writer"):
            await session.get(BASE_URL + "/ping")


# --- error codes and statuses ----------------------------------------------------------------------

# Written out rather than read from ERRORS_BY_CODE, so that a changed mapping fails here.
EXPECTED_BY_CODE: dict[int, type[TencentMeetingError]] = {
    190315: NotCreatorError,
    190001: UserNotRegisteredError,
    9003: MeetingNotFoundError,
    190457: MeetingNotFoundError,
    190300: CredentialsError,
    190301: CredentialsError,
    190303: CredentialsError,
    200003: CredentialsError,
    190310: QuotaExceededError,
    190311: QuotaExceededError,
    190313: QuotaExceededError,
}


def test_every_mapped_code_is_tested() -> None:
    assert EXPECTED_BY_CODE == ERRORS_BY_CODE


@pytest.mark.parametrize("status", [400, 403, 429, 500])
@pytest.mark.parametrize(("code", "kind"), EXPECTED_BY_CODE.items())
async def test_each_error_code_maps_to_its_error_whatever_the_status(
    http_mock: HttpMock,
    client: TencentMeetingClient,
    fake_time: FakeTime,
    code: int,
    kind: type[TencentMeetingError],
    status: int,
) -> None:
    http_mock.get(BY_CODE, status=status, payload=error_body(code), headers=TRACE, repeat=True)
    with pytest.raises(TencentMeetingError) as caught:
        await lookup(client)
    error = caught.value
    assert type(error) is kind
    assert (error.error_code, error.http_status, error.trace_id) == (code, status, "trace-0001")
    assert error.message == "refused"
    quota = kind is QuotaExceededError
    assert error.retryable is quota
    # Permanent errors are not retried; a quota error pauses the budget past the call's deadline.
    assert len(http_mock.sent) == 1
    assert (client.budget.paused_until == fake_time.now + client.budget.period) is quota


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (429, "", QuotaExceededError, None),
        (429, json.dumps(error_body(99999)), QuotaExceededError, 99999),
        (500, json.dumps({"error_info": {"message": "no code"}}), UnavailableError, None),
        (502, "<html><body>Bad Gateway</body></html>", UnavailableError, None),
        (503, "", UnavailableError, None),
        (504, json.dumps(error_body(12345)), UnavailableError, 12345),
        (400, json.dumps(error_body(12345)), TencentMeetingError, 12345),
        (401, "<html>Unauthorized</html>", TencentMeetingError, None),
        (404, json.dumps({"error_info": None}), TencentMeetingError, None),
        (302, "", TencentMeetingError, None),
    ],
)
async def test_without_a_known_code_the_status_decides(
    http_mock: HttpMock,
    client: TencentMeetingClient,
    status: int,
    body: str,
    kind: type[TencentMeetingError],
    code: int | None,
) -> None:
    http_mock.get(
        BY_CODE, status=status, body=body, headers={**TRACE, "Location": "/elsewhere"}, repeat=True
    )
    with pytest.raises(TencentMeetingError) as caught:
        await lookup(client)
    error = caught.value
    assert type(error) is kind
    assert (error.error_code, error.http_status, error.trace_id) == (code, status, "trace-0001")
    # Only a 5xx is tried again (a quota answer pauses the minute-long budget instead).
    expected_calls = client.retry.max_attempts if kind is UnavailableError else 1
    assert len(http_mock.sent) == expected_calls
    # Redirects are never followed: the signature covers this URI only.
    assert [request.url.path for request in http_mock.sent] == [BY_CODE_PATH] * expected_calls


@pytest.mark.parametrize(
    ("body", "kind", "code"),
    [
        (json.dumps(error_body("190315")), NotCreatorError, 190315),
        (json.dumps(error_body(190457.0)), MeetingNotFoundError, 190457),
        (json.dumps(error_body("not-a-number")), TencentMeetingError, None),
        (json.dumps({"error_info": ["190315"]}), TencentMeetingError, None),
        (json.dumps([]), TencentMeetingError, None),
        ("null", TencentMeetingError, None),
        ("{", TencentMeetingError, None),
    ],
)
def test_error_bodies_are_read_leniently(
    body: str, kind: type[TencentMeetingError], code: int | None
) -> None:
    error = error_from_response(400, body, "trace")
    assert type(error) is kind
    assert (error.error_code, error.http_status, error.trace_id) == (code, 400, "trace")


# --- retries ----------------------------------------------------------------------------------------


async def test_5xx_then_success_is_retried_and_each_attempt_signed_afresh(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(BY_CODE, status=502, body="<html>Bad Gateway</html>")
    http_mock.get(BY_CODE, status=503, payload={"error_info": {"message": "busy"}})
    http_mock.get(BY_CODE, payload=REPLAYS)
    meetings = await lookup(client)
    assert [m.meeting_id for m in meetings] == [MEETING_ID]
    assert len(http_mock.sent) == 3
    assert budget_of(client).asked == budget_of(client).granted == 3
    assert len({request.headers["X-TC-Nonce"] for request in http_mock.sent}) == 3
    assert all(signature_verifies(request) for request in http_mock.sent)


@pytest.mark.parametrize("max_attempts", [1, 2, 5])
async def test_retries_give_up_after_the_policy_attempts(
    http_mock: HttpMock, make_client: MakeClient, max_attempts: int
) -> None:
    client = make_client(max_attempts=max_attempts)
    http_mock.get(BY_CODE, status=503, payload={}, headers=TRACE, repeat=True)
    with pytest.raises(UnavailableError) as caught:
        await lookup(client)
    assert caught.value.http_status == 503
    assert len(http_mock.sent) == max_attempts
    assert budget_of(client).granted == max_attempts


async def test_at_least_one_attempt_is_made(http_mock: HttpMock, make_client: MakeClient) -> None:
    client = make_client(max_attempts=0)
    http_mock.get(BY_CODE, status=503, payload={}, repeat=True)
    with pytest.raises(UnavailableError):
        await lookup(client)
    assert len(http_mock.sent) == 1


async def test_no_retry_when_the_backoff_would_end_past_the_deadline(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    client.retry = FixedBackoff(max_attempts=3, call_timeout=1.0, total_timeout=2.0, backoff_base=5)
    http_mock.get(BY_CODE, status=503, payload={}, repeat=True)
    started = time.monotonic()
    with pytest.raises(UnavailableError):
        await lookup(client)
    assert len(http_mock.sent) == 1
    assert time.monotonic() - started < 0.5


def test_backoff_is_jittered_within_the_capped_exponential() -> None:
    policy = RetryPolicy(backoff_base=0.25, backoff_cap=2.0)
    for attempt, bound in [(1, 0.25), (2, 0.5), (3, 1.0), (4, 2.0), (7, 2.0)]:
        delays = [policy.backoff(attempt) for _ in range(300)]
        assert all(0.0 <= delay <= bound for delay in delays)
        assert max(delays) > bound / 2  # spread out, not a constant


# --- timeouts ---------------------------------------------------------------------------------------


async def test_a_timed_out_attempt_is_retried(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(BY_CODE, timeout=True)
    http_mock.get(BY_CODE, payload=REPLAYS)
    meetings = await lookup(client)
    assert meetings[0].code == "806146667"
    assert len(http_mock.sent) == 2


async def test_timeouts_on_every_attempt_end_as_unavailable(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(BY_CODE, timeout=True, repeat=True)
    with pytest.raises(UnavailableError) as caught:
        await lookup(client)
    assert (caught.value.http_status, caught.value.error_code) == (None, None)
    assert len(http_mock.sent) == client.retry.max_attempts == 3


async def test_each_attempt_is_time_boxed_by_the_call_timeout(
    http_mock: HttpMock, make_client: MakeClient
) -> None:
    client = make_client(call_timeout=0.7, total_timeout=30.0)
    http_mock.get(BY_CODE, timeout=True, repeat=True)
    with pytest.raises(UnavailableError):
        await lookup(client)
    assert [request.timeout_total for request in http_mock.sent] == [0.7, 0.7, 0.7]


async def test_a_hang_past_the_deadline_stops_the_retries(
    http_mock: HttpMock, make_client: MakeClient
) -> None:
    total_timeout = 0.012
    client = make_client(call_timeout=1.0, total_timeout=total_timeout, max_attempts=50)

    async def hang_then_time_out(url: URL, **kwargs: Any) -> None:
        await asyncio.sleep(0.004)
        raise TimeoutError

    http_mock.get(BY_CODE, callback=hang_then_time_out, repeat=True)
    started = time.monotonic()
    with pytest.raises(UnavailableError):
        await lookup(client)
    elapsed = time.monotonic() - started
    assert 1 <= len(http_mock.sent) <= 4
    # Every attempt is cut to the time left, never more than the whole call's deadline.
    totals = [request.timeout_total for request in http_mock.sent]
    assert all(0 < total <= total_timeout for total in totals)
    assert totals == sorted(totals, reverse=True)
    assert elapsed < total_timeout + 0.1


# --- malformed answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "<html><body>maintenance</body></html>",
        "",
        "null",
        "[]",
        '{"meeting_info_list": "none"}',
        '{"meeting_info_list": [{"subject": "no meeting_id"}]}',
        '{"meeting_info_list": [{"meeting_id": "1", "live_replay_list": [{"live_room_id": "1"}]}]}',
        '{"meeting_info_list": [{"meeting_id": "1"}',
    ],
)
async def test_a_200_that_is_not_the_expected_json_is_malformed(
    http_mock: HttpMock, client: TencentMeetingClient, body: str
) -> None:
    http_mock.get(BY_CODE, body=body, headers=TRACE, repeat=True)
    with pytest.raises(MalformedResponseError) as caught:
        await lookup(client)
    assert (caught.value.http_status, caught.value.trace_id) == (200, "trace-0001")
    assert not caught.value.retryable
    assert len(http_mock.sent) == 1


async def test_user_answers_missing_the_userid_are_malformed(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(url_of("/v1/users/alice"), payload={"username": "Alice"})
    http_mock.get(USERS, payload={"total_count": 1, "users": [{"username": "Alice"}]})
    with pytest.raises(MalformedResponseError):
        await client.user_detail("alice", operator_id="admin")
    with pytest.raises(MalformedResponseError):
        await client.list_users(operator_id="admin")
    assert len(http_mock.sent) == 2


# --- connection errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exception",
    [
        aiohttp.ClientConnectionError("refused"),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        aiohttp.ClientPayloadError("truncated"),
        None,  # nothing answers at this URL: aioresponses raises ClientConnectionError
    ],
)
async def test_connection_errors_are_unavailable_and_retried(
    http_mock: HttpMock, client: TencentMeetingClient, exception: Exception | None
) -> None:
    if exception is not None:
        http_mock.get(BY_CODE, exception=exception, repeat=True)
    with pytest.raises(UnavailableError) as caught:
        await lookup(client)
    assert (caught.value.http_status, caught.value.error_code) == (None, None)
    assert len(http_mock.sent) == client.retry.max_attempts


async def test_a_connection_error_then_success(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(BY_CODE, exception=aiohttp.ServerDisconnectedError())
    http_mock.get(BY_CODE, payload=REPLAYS)
    assert len(await lookup(client)) == 1
    assert len(http_mock.sent) == 2


# --- quota and the call budget ----------------------------------------------------------------------


async def test_a_quota_error_pauses_everybody_and_fails_fast(
    http_mock: HttpMock, client: TencentMeetingClient, fake_time: FakeTime
) -> None:
    http_mock.get(BY_CODE, status=429, payload=error_body(190310), repeat=True)
    with pytest.raises(QuotaExceededError) as caught:
        await lookup(client)
    assert (caught.value.http_status, caught.value.error_code) == (429, 190310)
    budget = budget_of(client)
    assert budget.paused_until == fake_time.now + 60.0
    # The retry asked for a turn, saw the pause outlast its deadline, and gave Tencent's answer.
    assert (budget.asked, budget.granted, len(http_mock.sent)) == (2, 1, 1)
    # The next caller does not reach Tencent either while the pause lasts.
    with pytest.raises(RateLimitTimeoutError):
        await client.replays_by_id(MEETING_ID, userid="tester")
    assert len(http_mock.sent) == 1
    assert fake_time.slept == []


async def test_a_quota_error_waits_out_the_pause_then_succeeds(
    http_mock: HttpMock, make_client: MakeClient, fake_time: FakeTime
) -> None:
    client = make_client(period=1.5)
    started = fake_time.now
    http_mock.get(BY_CODE, status=429, body="")
    http_mock.get(BY_CODE, payload=REPLAYS)
    assert len(await lookup(client)) == 1
    assert len(http_mock.sent) == 2
    assert budget_of(client).granted == 2
    # The second attempt waited for the pause (a budget period) on the budget's clock.
    assert fake_time.slept == [1.5]
    assert fake_time.now == started + 1.5


async def test_errors_other_than_quota_do_not_pause_the_budget(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(BY_CODE, status=503, payload={}, repeat=True)
    with pytest.raises(UnavailableError):
        await lookup(client)
    assert client.budget.paused_until == float("-inf")


async def test_the_budget_is_taken_once_per_http_attempt(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(BY_CODE, payload=REPLAYS)
    http_mock.get(BY_CODE, status=500, payload={})
    http_mock.get(BY_CODE, payload=REPLAYS)
    http_mock.get(BY_CODE, status=403, payload=error_body(190315))
    await lookup(client)
    await lookup(client)
    with pytest.raises(NotCreatorError):
        await lookup(client)
    budget = budget_of(client)
    assert len(http_mock.sent) == budget.asked == budget.granted == budget.in_window() == 4


async def test_each_attempt_waits_in_the_lane_of_the_work_it_serves(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(BY_CODE, payload=REPLAYS)
    http_mock.get(BY_CODE, status=500, payload={})
    http_mock.get(BY_CODE, payload=REPLAYS)
    http_mock.get(USERS, payload={"total_count": 0, "users": []})
    await lookup(client)
    with in_lane(Lane.BACKGROUND):
        await lookup(client)  # a 500, then a retry: both attempts in the background lane
        task = asyncio.create_task(client.list_users(operator_id="admin"))
    await task  # started in the background work, so its call is background work too
    budget = budget_of(client)
    assert budget.lanes == [Lane.PEOPLE] + [Lane.BACKGROUND] * 3
    assert (budget.in_window(Lane.PEOPLE), budget.in_window(Lane.BACKGROUND)) == (1, 3)


async def test_an_exhausted_budget_makes_no_call(
    http_mock: HttpMock, make_client: MakeClient
) -> None:
    client = make_client(calls=2, period=60.0)
    http_mock.get(BY_CODE, payload=REPLAYS, repeat=True)
    await lookup(client)
    await lookup(client)
    with pytest.raises(RateLimitTimeoutError):
        await lookup(client)
    assert len(http_mock.sent) == 2
    assert client.budget.in_window() == 2


async def test_retries_never_exceed_the_budget(
    http_mock: HttpMock, make_client: MakeClient
) -> None:
    client = make_client(calls=2, period=60.0, max_attempts=3)
    http_mock.get(BY_CODE, status=503, payload={}, repeat=True)
    with pytest.raises(UnavailableError) as caught:
        await lookup(client)
    # The third attempt found no turn within the deadline: Tencent's last answer is reported.
    assert caught.value.http_status == 503
    budget = budget_of(client)
    assert (len(http_mock.sent), budget.granted, budget.asked) == (2, 2, 3)
    assert budget.in_window() == 2


# --- the signed request -----------------------------------------------------------------------------


async def test_the_request_is_signed_with_every_tencent_header(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(BY_CODE, payload=REPLAYS)
    await lookup(client)
    (request,) = http_mock.sent
    assert request.method == "GET"
    assert str(request.url) == BASE_URL + request.uri
    assert request.uri == f"{BY_CODE_PATH}?meeting_code=806146667&userid=tester&instanceid=1"
    headers = request.headers
    assert headers["X-TC-Key"] == CREDENTIALS.secret_id
    assert headers["AppId"] == CREDENTIALS.app_id
    assert headers["X-TC-Timestamp"] == "1700000000"
    assert 1 <= int(headers["X-TC-Nonce"]) <= 2**31 - 1
    assert headers["X-TC-Registered"] == "1"
    assert headers["Content-Type"] == "application/json"
    assert "SdkId" not in headers
    assert CREDENTIALS.secret_key not in headers.values()
    assert signature_verifies(request)
    wrong_key = Credentials(CREDENTIALS.app_id, CREDENTIALS.secret_id, "another-secret-key")
    assert not signature_verifies(request, wrong_key)
    assert request.allow_redirects is False


async def test_the_sdk_id_is_sent_when_there_is_one(
    http_mock: HttpMock, make_client: MakeClient
) -> None:
    credentials = Credentials("211000001", "AKIDunitTestKey", "unit-test-secret-key", "18000001")
    client = make_client(credentials=credentials)
    http_mock.get(BY_CODE, payload=REPLAYS)
    await lookup(client)
    (request,) = http_mock.sent
    assert request.headers["SdkId"] == "18000001"
    assert signature_verifies(request, credentials)


async def test_base_url_slash_and_instance_id(http_mock: HttpMock, make_client: MakeClient) -> None:
    client = make_client(base_url=BASE_URL + "/", instance_id=7)
    replays_by_id = url_of(f"/v1/meetings/{MEETING_ID}/live_play/replays")
    http_mock.get(replays_by_id, payload=REPLAYS)
    http_mock.get(BY_CODE, payload=REPLAYS)
    meetings = await client.replays_by_id(MEETING_ID, userid="tester")
    assert [m.meeting_id for m in meetings] == [MEETING_ID]
    await lookup(client)
    assert [str(request.url) for request in http_mock.sent] == [
        f"{BASE_URL}/v1/meetings/{MEETING_ID}/live_play/replays?userid=tester&instanceid=7",
        f"{BASE_URL}{BY_CODE_PATH}?meeting_code=806146667&userid=tester&instanceid=7",
    ]
    assert all(signature_verifies(request) for request in http_mock.sent)


async def test_values_that_would_need_encoding_are_never_sent(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    with pytest.raises(ValueError):
        await client.replays_by_code("806146667", userid="a&userid=admin")
    with pytest.raises(ValueError):
        await client.replays_by_id("1/../2", userid="tester")
    with pytest.raises(ValueError):
        await client.user_detail("名字", operator_id="admin")
    assert http_mock.sent == []
    assert budget_of(client).asked == 0


# --- parsed answers ---------------------------------------------------------------------------------


async def test_replays_are_parsed_and_unknown_fields_ignored(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    # meeting_id as a JSON number above int64: it must come back digit for digit, as text.
    body = json.dumps(
        {
            "meeting_number": 2,
            "meeting_info_list": [
                {**REPLAYS["meeting_info_list"][0], "new_field": {"x": 1}},
                {"meeting_id": 18446744073709551617, "live_replay_list": []},
            ],
            "something_new": True,
        }
    )
    http_mock.get(BY_CODE, body=body)
    first, second = await lookup(client)
    assert (first.meeting_id, first.code, first.subject) == (
        MEETING_ID,
        "806146667",
        "weekly",
    )
    assert [(r.room_id, r.url) for r in first.live_replays] == [
        ("206830819", "https://meeting.tencent.com/l/abc")
    ]
    assert second.meeting_id == "18446744073709551617"
    assert second.live_replays == ()


async def test_user_detail(http_mock: HttpMock, client: TencentMeetingClient) -> None:
    http_mock.get(
        url_of("/v1/users/alice"),
        payload={"userid": "alice", "username": "Alice", "email": "alice@example.com", "x": 1},
    )
    user = await client.user_detail("alice", operator_id="admin")
    assert (user.userid, user.name, user.email) == ("alice", "Alice", "alice@example.com")
    (request,) = http_mock.sent
    assert request.uri == "/v1/users/alice?operator_id=admin&operator_id_type=1"
    assert signature_verifies(request)


async def test_user_detail_of_an_unknown_user(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(url_of("/v1/users/bob"), status=500, payload=error_body(190001), repeat=True)
    with pytest.raises(UserNotRegisteredError):
        await client.user_detail("bob", operator_id="admin")
    assert len(http_mock.sent) == 1


# --- user list paging -------------------------------------------------------------------------------


@dataclass
class UserDirectory:
    """A user list endpoint that pages `count` users as Tencent does."""

    count: int
    total_count: int | None = None

    def userids(self) -> list[str]:
        return [f"user{n:03d}" for n in range(self.count)]

    def answer(self, url: URL, **kwargs: Any) -> CallbackResult:
        page, size = int(url.query["page"]), int(url.query["page_size"])
        users = self.userids()[(page - 1) * size : page * size]
        total = self.count if self.total_count is None else self.total_count
        return CallbackResult(
            payload={
                "total_count": total,
                "current_size": len(users),
                "current_page": page,
                "page_size": size,
                "users": [{"userid": userid, "email": f"{userid}@example.com"} for userid in users],
            }
        )


@pytest.mark.parametrize(
    ("count", "page_size", "pages"),
    [(45, 20, 3), (40, 20, 2), (7, 7, 1), (20, 7, 3), (1, 20, 1), (0, 20, 1)],
)
async def test_list_users_reads_every_page_and_no_more(
    http_mock: HttpMock, client: TencentMeetingClient, count: int, page_size: int, pages: int
) -> None:
    directory = UserDirectory(count)
    http_mock.get(USERS, callback=directory.answer, repeat=True)
    users = await client.list_users(operator_id="admin", page_size=page_size)
    assert [user.userid for user in users] == directory.userids()
    assert all(user.email == f"{user.userid}@example.com" for user in users)
    assert [request.uri for request in http_mock.sent] == [
        f"{USERS_PATH}?page={page}&page_size={page_size}&operator_id=admin&operator_id_type=1"
        for page in range(1, pages + 1)
    ]
    assert all(signature_verifies(request) for request in http_mock.sent)


async def test_list_users_stops_at_a_short_page_even_if_the_total_says_more(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(USERS, callback=UserDirectory(25, total_count=500).answer, repeat=True)
    users = await client.list_users(operator_id="admin")
    assert len(users) == 25
    assert len(http_mock.sent) == 2


async def test_list_users_stops_when_the_server_repeats_a_page(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    same_page = {
        "total_count": 1_000_000,
        "users": [{"userid": f"u{n}"} for n in range(MAX_PAGE_SIZE)],
    }
    http_mock.get(USERS, payload=same_page, repeat=True)
    users = await client.list_users(operator_id="admin")
    assert [user.userid for user in users] == [f"u{n}" for n in range(MAX_PAGE_SIZE)]
    assert len(http_mock.sent) == 2


async def test_list_users_stops_after_the_page_limit(
    http_mock: HttpMock, client: TencentMeetingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_USER_PAGES", 3)
    http_mock.get(USERS, callback=UserDirectory(10_000).answer, repeat=True)
    users = await client.list_users(operator_id="admin")
    assert len(users) == 3 * MAX_PAGE_SIZE
    assert len(http_mock.sent) == 3


async def test_list_users_fails_when_a_page_fails(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    directory = UserDirectory(45)
    http_mock.get(USERS, callback=directory.answer)
    http_mock.get(USERS, status=400, payload=error_body(190001))
    with pytest.raises(UserNotRegisteredError):
        await client.list_users(operator_id="admin")
    assert [request.url.query["page"] for request in http_mock.sent] == ["1", "2"]


async def test_list_users_retries_a_failed_page(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    directory = UserDirectory(30)
    http_mock.get(USERS, callback=directory.answer)
    http_mock.get(USERS, status=502, body="")
    http_mock.get(USERS, callback=directory.answer)
    users = await client.list_users(operator_id="admin")
    assert [user.userid for user in users] == directory.userids()
    assert [request.url.query["page"] for request in http_mock.sent] == ["1", "2", "2"]


@pytest.mark.parametrize("page_size", [0, -1, MAX_PAGE_SIZE + 1])
async def test_list_users_refuses_a_page_size_tencent_does_not_allow(
    http_mock: HttpMock, client: TencentMeetingClient, page_size: int
) -> None:
    with pytest.raises(ValueError):
        await client.list_users(operator_id="admin", page_size=page_size)
    assert http_mock.sent == []


# --- ended meetings (history) -----------------------------------------------------------------------

HISTORY_PATH = "/v1/history/meetings/alice"
HISTORY = url_of(HISTORY_PATH)
WINDOW_START = datetime(2025, 1, 1, tzinfo=UTC)
WINDOW_END = datetime(2025, 3, 1, tzinfo=UTC)


@dataclass
class History:
    """A history endpoint that pages `count` ended meetings, newest first, as Tencent does."""

    count: int
    total_page: int | None = None

    def meeting_ids(self) -> list[str]:
        return [f"9{n:018d}" for n in range(self.count)]

    def answer(self, url: URL, **kwargs: Any) -> CallbackResult:
        page, size = int(url.query["page"]), int(url.query["page_size"])
        ids = self.meeting_ids()[(page - 1) * size : page * size]
        end = int(url.query["end_time"])
        total_page = -(-self.count // size) if self.total_page is None else self.total_page
        return CallbackResult(
            payload={
                "total_count": self.count,
                "total_page": total_page,
                "current_page": page,
                "current_size": len(ids),
                "meeting_info_list": [
                    {
                        "meeting_id": meeting_id,
                        "meeting_code": meeting_id[-9:],
                        "subject": f"meeting {meeting_id}",
                        "start_time": str(end - 3600 * (n + 2)),
                        "end_time": str(end - 3600 * (n + 1)),
                        "meeting_type": 0,
                    }
                    for n, meeting_id in enumerate(ids, start=(page - 1) * size)
                ],
            }
        )


async def ended(client: TencentMeetingClient, **options: Any) -> list[HistoryEntry]:
    history = await client.ended_meetings("alice", start=WINDOW_START, end=WINDOW_END, **options)
    return list(history.entries)


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (1, 1), (20, 1), (21, 2), (45, 3)])
async def test_ended_meetings_reads_every_page_of_20_with_both_bounds(
    http_mock: HttpMock, client: TencentMeetingClient, count: int, pages: int
) -> None:
    history = History(count)
    http_mock.get(HISTORY, callback=history.answer, repeat=True)
    read = await client.ended_meetings("alice", start=WINDOW_START, end=WINDOW_END)
    meetings = list(read.entries)
    assert read.calls == pages
    assert [m.meeting_id for m in meetings] == history.meeting_ids()
    ends = [m.end for m in meetings]
    assert ends == sorted(ends, key=lambda t: t or WINDOW_START, reverse=True)
    start, end = int(WINDOW_START.timestamp()), int(WINDOW_END.timestamp())
    assert [request.uri for request in http_mock.sent] == [
        f"{HISTORY_PATH}?page_size=20&page={page}&start_time={start}&end_time={end}&instanceid=1"
        for page in range(1, pages + 1)
    ]
    assert all(signature_verifies(request) for request in http_mock.sent)
    assert budget_of(client).granted == pages


async def test_ended_meetings_stops_at_max_pages(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(HISTORY, callback=History(100).answer, repeat=True)
    meetings = await ended(client, max_pages=2)
    assert len(meetings) == 40
    assert [request.url.query["page"] for request in http_mock.sent] == ["1", "2"]


async def test_ended_meetings_follows_full_pages_when_total_page_is_missing(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    history = History(40, total_page=0)
    http_mock.get(HISTORY, callback=history.answer, repeat=True)
    meetings = await ended(client)
    assert [m.meeting_id for m in meetings] == history.meeting_ids()
    # Two full pages, then an empty third says it is over.
    assert [request.url.query["page"] for request in http_mock.sent] == ["1", "2", "3"]


async def test_ended_meetings_stops_when_the_server_repeats_a_page(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    same_page = History(20, total_page=50).answer(
        URL(f"{BASE_URL}{HISTORY_PATH}?page=1&page_size=20&end_time=1740787200")
    )
    http_mock.get(HISTORY, payload=same_page.payload, repeat=True)
    meetings = await ended(client)
    assert len(meetings) == 20
    assert len(http_mock.sent) == 2


async def test_ended_meetings_retries_a_failed_page_and_fails_on_a_refused_one(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    history = History(30)
    http_mock.get(HISTORY, callback=history.answer)
    http_mock.get(HISTORY, status=502, body="")
    http_mock.get(HISTORY, callback=history.answer)
    assert len(await ended(client)) == 30
    assert [request.url.query["page"] for request in http_mock.sent] == ["1", "2", "2"]

    http_mock.get(HISTORY, status=400, payload=error_body(10001), repeat=True)
    with pytest.raises(TencentMeetingError) as caught:
        await ended(client)
    assert (type(caught.value), caught.value.error_code) == (TencentMeetingError, 10001)
    assert len(http_mock.sent) == 4


@pytest.mark.parametrize(
    ("start", "end", "max_pages"),
    [
        (WINDOW_START, WINDOW_START + timedelta(days=90, seconds=1), 10),
        (WINDOW_END, WINDOW_START, 10),
        (WINDOW_START, WINDOW_START - timedelta(seconds=1), 10),
        (WINDOW_START.replace(tzinfo=None), WINDOW_END, 10),
        (WINDOW_START, WINDOW_END.replace(tzinfo=None), 10),
        (WINDOW_START, WINDOW_END, 0),
    ],
)
async def test_ended_meetings_refuses_what_tencent_would_before_any_call(
    http_mock: HttpMock,
    client: TencentMeetingClient,
    start: datetime,
    end: datetime,
    max_pages: int,
) -> None:
    with pytest.raises(ValueError):
        await client.ended_meetings("alice", start=start, end=end, max_pages=max_pages)
    with pytest.raises(ValueError):
        await client.ended_meetings("a/../b", start=WINDOW_START, end=WINDOW_END)
    assert http_mock.sent == []
    assert budget_of(client).asked == 0


async def test_ended_meetings_accepts_exactly_90_days_and_any_timezone(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(HISTORY, callback=History(0).answer, repeat=True)
    china = timezone(timedelta(hours=8))
    start = datetime(2025, 1, 1, 8, tzinfo=china)  # 2025-01-01 00:00 UTC
    await client.ended_meetings("alice", start=start, end=start + timedelta(days=90))
    await client.ended_meetings("alice", start=start, end=start)
    first, same = http_mock.sent
    assert first.url.query["start_time"] == str(int(WINDOW_START.timestamp()))
    assert int(first.url.query["end_time"]) - int(first.url.query["start_time"]) == 90 * 86400
    assert same.url.query["start_time"] == same.url.query["end_time"]


async def test_history_is_parsed_leniently(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    body = json.dumps(
        {
            "total_count": "4",
            "total_page": "1",
            "current_page": 1,
            "current_size": "4",
            "meeting_info_list": [
                {
                    "meeting_id": 18446744073709551617,
                    "meeting_code": 806146667,
                    "subject": "weekly",
                    "start_time": "1735689600",
                    "end_time": 1735693200,
                    "meeting_type": "1",
                    "something_new": {"x": 1},
                },
                {"meeting_id": "2", "start_time": "0", "end_time": "", "meeting_type": None},
                {"meeting_id": "3", "start_time": "soon", "end_time": None},
                {"meeting_id": "4", "start_time": 1735689600000, "end_time": "1735693200.0"},
            ],
        }
    )
    http_mock.get(HISTORY, body=body)
    first, second, third, fourth = await ended(client)
    assert first == HistoryEntry(
        meeting_id="18446744073709551617",
        code="806146667",
        subject="weekly",
        start=datetime(2025, 1, 1, tzinfo=UTC),
        end=datetime(2025, 1, 1, 1, tzinfo=UTC),
        recurring=True,
    )
    assert first.start is not None and first.start.tzinfo is UTC
    assert (second.start, second.end, second.recurring) == (None, None, False)
    assert (second.code, second.subject) == ("", "")
    assert (third.start, third.end) == (None, None)
    assert (fourth.start, fourth.end) == (
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2025, 1, 1, 1, tzinfo=UTC),
    )
    assert len(http_mock.sent) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"meeting_info_list": None},
        {},
        {"total_count": 0, "total_page": 0, "current_page": 1, "current_size": 0},
    ],
)
def test_an_empty_history_page_reads_as_no_meetings(body: dict[str, Any]) -> None:
    page = HistoryPage.model_validate(body)
    assert page.meeting_info_list == []


async def test_history_meetings_missing_their_id_are_malformed(
    http_mock: HttpMock, client: TencentMeetingClient
) -> None:
    http_mock.get(HISTORY, payload={"meeting_info_list": [{"meeting_code": "1"}]})
    with pytest.raises(MalformedResponseError):
        await ended(client)


def test_history_meetings_built_in_code_keep_their_times_in_utc() -> None:
    china = timezone(timedelta(hours=8))
    meeting = HistoryMeeting(
        meeting_id="1",
        start_time=datetime(2025, 1, 1, 8, tzinfo=china),
        end_time=datetime(2025, 1, 1, 1),
    )
    assert meeting.start_time == datetime(2025, 1, 1, tzinfo=UTC)
    assert meeting.start_time is not None and meeting.start_time.tzinfo is UTC
    assert meeting.end_time == datetime(2025, 1, 1, 1, tzinfo=UTC)
