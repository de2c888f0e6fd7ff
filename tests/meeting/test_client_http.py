"""TencentMeetingClient over real HTTP against the fake Tencent Meeting API."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from bot.meeting.client import TencentMeetingClient
from bot.meeting.errors import (
    CredentialsError,
    MalformedResponseError,
    MeetingNotFoundError,
    NotCreatorError,
    QuotaExceededError,
    RateLimitTimeoutError,
    TencentMeetingError,
    UnavailableError,
    UserNotRegisteredError,
)
from bot.meeting.quota import CallBudget
from bot.meeting.signing import Credentials, build_uri, signed_headers
from tests.fakes.tencent import (
    SPEC_EXAMPLE_CREATOR,
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_MEETING_ID,
    FakeTencent,
    client_for,
)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def only_call(fake: FakeTencent) -> None:
    assert len(fake.calls) == 1, [(c.path, c.status, c.error_code) for c in fake.calls]


# --- replays -------------------------------------------------------------------------------------


async def test_replays_by_code_returns_the_spec_example(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    meetings = await tencent_client.replays_by_code(
        SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR
    )
    assert len(meetings) == 1
    meeting = meetings[0]
    assert meeting.meeting_id == SPEC_EXAMPLE_MEETING_ID
    assert isinstance(meeting.meeting_id, str)
    assert meeting.code == SPEC_EXAMPLE_MEETING_CODE
    assert meeting.subject == "tester预定的会议"
    assert [r.url for r in meeting.live_replays] == [
        "https://meeting.tencent.com/l/xxxx",
        "https://meeting.tencent.com/l/xxxx",
    ]
    assert [r.room_id for r in meeting.live_replays] == ["206830819", "112594341"]
    assert [r.subject for r in meeting.live_replays] == [
        "tester预定的会议",
        "leonxsun预定的会议",
    ]


async def test_replays_by_id_returns_the_spec_example(
    tencent_client: TencentMeetingClient,
) -> None:
    meetings = await tencent_client.replays_by_id(
        SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR
    )
    assert [m.meeting_id for m in meetings] == [SPEC_EXAMPLE_MEETING_ID]
    assert len(meetings[0].live_replays) == 2


async def test_the_request_on_the_wire_is_what_tencent_documents(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    await tencent_client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR)
    await tencent_client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)
    by_code, by_id = fake_tencent.calls
    assert by_code.path == "/v1/meetings/live_play/replays"
    assert by_code.query == {
        "meeting_code": SPEC_EXAMPLE_MEETING_CODE,
        "userid": SPEC_EXAMPLE_CREATOR,
        "instanceid": "1",
    }
    assert by_id.path == f"/v1/meetings/{SPEC_EXAMPLE_MEETING_ID}/live_play/replays"
    assert by_id.query == {"userid": SPEC_EXAMPLE_CREATOR, "instanceid": "1"}
    for call in fake_tencent.calls:
        assert call.method == "GET"
        assert call.status == 200
        assert call.headers["X-TC-Key"] == fake_tencent.credentials.secret_id
        assert call.headers["AppId"] == fake_tencent.credentials.app_id
        assert call.headers["X-TC-Registered"] == "1"
        assert call.headers["Content-Type"] == "application/json"
        assert len(call.headers["X-TC-Signature"]) == 88
        assert abs(int(call.headers["X-TC-Timestamp"]) - time.time()) < 5
        assert int(call.headers["X-TC-Nonce"]) > 0
    assert by_code.headers["X-TC-Nonce"] != by_id.headers["X-TC-Nonce"]


async def test_replays_appear_only_after_the_configured_lookups(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.add_meeting(
        "1234567890123456789",
        "123456789",
        subject="weekly",
        creator=SPEC_EXAMPLE_CREATOR,
        replays=[{"video_url": "https://meeting.tencent.com/l/abc", "live_room_id": "1"}],
        replays_appear_after=2,
    )
    counts = []
    for _ in range(3):
        meetings = await tencent_client.replays_by_code("123456789", userid=SPEC_EXAMPLE_CREATOR)
        counts.append(len(meetings[0].live_replays))
    assert counts == [0, 0, 1]


async def test_someone_else_than_the_creator_is_refused(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.add_user("alice")
    with pytest.raises(NotCreatorError) as caught:
        await tencent_client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid="alice")
    error = caught.value
    assert (error.http_status, error.error_code) == (403, 190315)
    assert error.trace_id == fake_tencent.calls[-1].trace_id
    assert error.message
    assert not error.retryable
    only_call(fake_tencent)


async def test_unknown_meeting_code_is_not_found(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    with pytest.raises(MeetingNotFoundError) as caught:
        await tencent_client.replays_by_code("999999999", userid=SPEC_EXAMPLE_CREATOR)
    assert (caught.value.http_status, caught.value.error_code) == (400, 190457)
    only_call(fake_tencent)


async def test_unknown_meeting_id_is_not_found_and_its_500_is_not_retried(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    with pytest.raises(MeetingNotFoundError) as caught:
        await tencent_client.replays_by_id("1111111111111111111", userid=SPEC_EXAMPLE_CREATOR)
    assert (caught.value.http_status, caught.value.error_code) == (500, 9003)
    only_call(fake_tencent)


async def test_unregistered_user_is_reported_as_such(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    with pytest.raises(UserNotRegisteredError) as caught:
        await tencent_client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid="nobody")
    assert (caught.value.http_status, caught.value.error_code) == (500, 190001)
    only_call(fake_tencent)


async def test_a_userid_that_would_need_encoding_is_never_sent(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    for userid in ("tester&userid=admin", "a b", "名字"):
        with pytest.raises(ValueError):
            await tencent_client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid=userid)
    with pytest.raises(ValueError):
        await tencent_client.replays_by_id("1/../2", userid=SPEC_EXAMPLE_CREATOR)
    assert fake_tencent.calls == []


# --- credentials and signing over the wire --------------------------------------------------------


async def test_wrong_secret_key_is_a_credentials_error_without_retry(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    wrong = dataclasses.replace(fake_tencent.credentials, secret_key="not-the-key")
    client = client_for(fake_tencent, session, credentials=wrong)
    with pytest.raises(CredentialsError) as caught:
        await client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR)
    # Tencent answers a bad signature with HTTP 500: the code, not the status, says "don't retry".
    assert (caught.value.http_status, caught.value.error_code) == (500, 200003)
    only_call(fake_tencent)


async def test_wrong_secret_id_is_a_credentials_error(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    wrong = dataclasses.replace(fake_tencent.credentials, secret_id="AKIDsomebodyElse")
    client = client_for(fake_tencent, session, credentials=wrong)
    with pytest.raises(CredentialsError) as caught:
        await client.user_detail(SPEC_EXAMPLE_CREATOR, operator_id=SPEC_EXAMPLE_CREATOR)
    assert caught.value.error_code == 190303
    only_call(fake_tencent)


async def test_a_skewed_clock_is_a_credentials_error(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    client = client_for(fake_tencent, session, clock=lambda: time.time() - 1000)
    with pytest.raises(CredentialsError) as caught:
        await client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)
    assert caught.value.error_code == 190300
    only_call(fake_tencent)


async def test_a_replayed_nonce_and_a_reordered_query_are_refused(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    uri = build_uri(
        "/v1/meetings/live_play/replays",
        [("meeting_code", SPEC_EXAMPLE_MEETING_CODE), ("userid", "tester"), ("instanceid", 1)],
    )
    headers = signed_headers(
        fake_tencent.credentials,
        method="GET",
        uri=uri,
        body="",
        timestamp=int(time.time()),
        nonce=4242,
    )

    async def send(target: str) -> tuple[int, int | None]:
        url = URL(fake_tencent.base_url + target, encoded=True)
        async with session.get(url, headers=headers) as response:
            body = await response.json()
            assert response.headers["X-TC-Trace"]
            return response.status, (body.get("error_info") or {}).get("error_code")

    assert (await send(uri))[0] == 200
    assert await send(uri) == (400, 190301)
    path, _, query = uri.partition("?")
    reordered = path + "?" + "&".join(reversed(query.split("&")))
    assert await send(reordered) == (500, 200003)


async def test_sdk_id_is_not_sent_when_none_is_configured(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    await tencent_client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)
    assert "SdkId" not in fake_tencent.calls[0].headers


async def test_sdk_id_is_sent_when_configured(session: aiohttp.ClientSession) -> None:
    async with FakeTencent(sdk_id="18000001") as fake:
        fake.add_spec_example()
        without = dataclasses.replace(fake.credentials, sdk_id=None)
        with pytest.raises(CredentialsError) as caught:
            await client_for(fake, session, credentials=without).replays_by_id(
                SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR
            )
        assert caught.value.error_code == 190303

        await client_for(fake, session).replays_by_id(
            SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR
        )
        assert fake.calls[-1].status == 200
        assert fake.calls[-1].headers["SdkId"] == "18000001"


async def test_an_sdk_id_tencent_did_not_assign_is_refused(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    unassigned = dataclasses.replace(fake_tencent.credentials, sdk_id="18000001")
    with pytest.raises(CredentialsError):
        await client_for(fake_tencent, session, credentials=unassigned).replays_by_id(
            SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR
        )


# --- users ---------------------------------------------------------------------------------------


async def test_user_detail(fake_tencent: FakeTencent, tencent_client: TencentMeetingClient) -> None:
    fake_tencent.add_user("alice", email="alice@example.com", username="Alice")
    user = await tencent_client.user_detail("alice", operator_id=SPEC_EXAMPLE_CREATOR)
    assert (user.userid, user.email, user.name) == ("alice", "alice@example.com", "Alice")
    assert fake_tencent.calls[0].query == {
        "operator_id": SPEC_EXAMPLE_CREATOR,
        "operator_id_type": "1",
    }
    with pytest.raises(UserNotRegisteredError):
        await tencent_client.user_detail("bob", operator_id=SPEC_EXAMPLE_CREATOR)


@pytest.mark.parametrize(("page_size", "pages"), [(20, 3), (7, 7), (15, 3)])
async def test_user_list_over_several_pages_returns_everybody(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient, page_size: int, pages: int
) -> None:
    for n in range(44):
        fake_tencent.add_user(f"user{n:02d}", email=f"user{n:02d}@example.com")
    users = await tencent_client.list_users(operator_id=SPEC_EXAMPLE_CREATOR, page_size=page_size)
    assert sorted(u.userid for u in users) == sorted(
        [SPEC_EXAMPLE_CREATOR] + [f"user{n:02d}" for n in range(44)]
    )
    assert [c.query["page"] for c in fake_tencent.calls] == [str(p) for p in range(1, pages + 1)]
    assert {c.query["page_size"] for c in fake_tencent.calls} == {str(page_size)}


async def test_user_list_stops_when_a_server_repeats_the_same_page(
    session: aiohttp.ClientSession,
) -> None:
    # A broken server (or proxy) that ignores `page` and claims a million users.
    page = {
        "total_count": 1_000_000,
        "current_size": 20,
        "current_page": 1,
        "page_size": 20,
        "users": [{"userid": f"u{n}"} for n in range(20)],
    }

    async def same_page(request: web.Request) -> web.Response:
        return web.json_response(page)

    app = web.Application()
    app.router.add_get("/v1/users/list", same_page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        client = TencentMeetingClient(
            session,
            Credentials("1", "key", "secret"),
            base_url=f"http://{host}:{port}",
            budget=CallBudget(300),
        )
        users = await client.list_users(operator_id="admin")
    finally:
        await runner.cleanup()
    assert [u.userid for u in users] == [f"u{n}" for n in range(20)]


async def test_user_list_refuses_pages_bigger_than_tencent_allows(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    with pytest.raises(ValueError):
        await tencent_client.list_users(operator_id=SPEC_EXAMPLE_CREATOR, page_size=21)
    assert fake_tencent.calls == []


async def test_user_list_needs_a_known_operator(tencent_client: TencentMeetingClient) -> None:
    with pytest.raises(UserNotRegisteredError):
        await tencent_client.list_users(operator_id="ghost")


# --- faults --------------------------------------------------------------------------------------


async def test_5xx_is_retried_until_it_succeeds(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.fail_next(2, status=502)
    meetings = await tencent_client.replays_by_code(
        SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR
    )
    assert len(meetings[0].live_replays) == 2
    assert [c.status for c in fake_tencent.calls] == [502, 502, 200]


async def test_5xx_that_persists_ends_as_unavailable(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.fail_next(5, status=503)
    with pytest.raises(UnavailableError) as caught:
        await tencent_client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR)
    assert caught.value.http_status == 503
    assert caught.value.trace_id == fake_tencent.calls[-1].trace_id
    assert len(fake_tencent.calls) == tencent_client.retry.max_attempts == 3


async def test_a_4xx_without_known_code_is_a_plain_error_without_retry(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.fail_next(1, status=400, error_code=12345)
    with pytest.raises(TencentMeetingError) as caught:
        await tencent_client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR)
    assert type(caught.value) is TencentMeetingError
    assert (caught.value.http_status, caught.value.error_code) == (400, 12345)
    only_call(fake_tencent)


async def test_a_hung_call_ends_as_unavailable_within_the_total_timeout(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    fake_tencent.hang_next(10)
    client = client_for(fake_tencent, session, call_timeout=0.2, total_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(UnavailableError):
        await client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR)
    # Each attempt is cut to the time left, so only scheduling can add to the total.
    assert time.monotonic() - started < 0.5 + 0.25
    assert 2 <= len(fake_tencent.calls) <= 3


async def test_one_hung_call_is_retried(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    fake_tencent.hang_next(1)
    client = client_for(fake_tencent, session, call_timeout=0.2, total_timeout=2.0)
    meetings = await client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)
    assert meetings[0].meeting_id == SPEC_EXAMPLE_MEETING_ID
    assert [c.status for c in fake_tencent.calls] == [None, 200]


async def test_latency_beyond_the_call_timeout_is_unavailable(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    fake_tencent.latency = 0.3
    client = client_for(fake_tencent, session, call_timeout=0.1, total_timeout=0.35)
    with pytest.raises(UnavailableError):
        await client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)
    fake_tencent.latency = 0.05
    slow = client_for(fake_tencent, session, call_timeout=0.5)
    assert await slow.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)


async def test_a_refused_connection_is_unavailable(session: aiohttp.ClientSession) -> None:
    async with FakeTencent() as fake:
        credentials, base_url = fake.credentials, fake.base_url
    client = TencentMeetingClient(
        session,
        credentials,
        base_url=base_url,
        budget=CallBudget(300),
        total_timeout=1.0,
        backoff_base=0.01,
    )
    with pytest.raises(UnavailableError):
        await client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)


async def test_a_non_json_body_is_malformed(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.garbage_next(1)
    with pytest.raises(MalformedResponseError) as caught:
        await tencent_client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR)
    assert caught.value.http_status == 200
    assert caught.value.trace_id == fake_tencent.calls[-1].trace_id
    only_call(fake_tencent)


async def test_a_body_missing_required_fields_is_malformed(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.missing_fields_next(3)
    with pytest.raises(MalformedResponseError, match="meeting_id"):
        await tencent_client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR)
    with pytest.raises(MalformedResponseError, match="userid"):
        await tencent_client.user_detail(SPEC_EXAMPLE_CREATOR, operator_id=SPEC_EXAMPLE_CREATOR)
    with pytest.raises(MalformedResponseError):
        await tencent_client.list_users(operator_id=SPEC_EXAMPLE_CREATOR)
    assert len(fake_tencent.calls) == 3


async def test_failures_are_logged_with_trace_but_without_secrets(
    fake_tencent: FakeTencent,
    tencent_client: TencentMeetingClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_tencent.fail_next(1, status=500, error_code=190315)
    with (
        caplog.at_level(logging.INFO, logger="bot.meeting.client"),
        pytest.raises(NotCreatorError),
    ):
        await tencent_client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)
    call = fake_tencent.calls[0]
    assert call.trace_id in caplog.text
    assert "190315" in caplog.text
    assert "/live_play/replays" in caplog.text
    assert fake_tencent.credentials.secret_key not in caplog.text
    assert call.headers["X-TC-Signature"] not in caplog.text
    # "Not the creator" is an answer, not trouble: one line at INFO, no traceback.
    assert [(r.levelno, r.exc_info) for r in caplog.records] == [(logging.INFO, None)]


# --- quota ---------------------------------------------------------------------------------------


async def test_quota_exceeded_then_recovered(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    window = 0.3
    fake_tencent.calls_per_minute = 2
    fake_tencent.quota_window = window
    # Our own budget is looser than Tencent's here, so Tencent is the one that says "too many".
    client = client_for(fake_tencent, session, budget=CallBudget(100, window))
    for _ in range(3):
        await client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR)
    codes = [(c.status, c.error_code) for c in fake_tencent.calls]
    assert codes == [(200, None), (200, None), (429, 190310), (200, None)]
    refused, retried = fake_tencent.calls[2:]
    assert retried.time - refused.time >= window


async def test_a_quota_error_makes_everybody_back_off(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    # With a minute-long budget the pause outlasts the call's deadline: fail fast, don't hammer.
    fake_tencent.fail_next(1, status=500, error_code=190310)
    started = time.monotonic()
    with pytest.raises(QuotaExceededError) as caught:
        await tencent_client.replays_by_code(SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR)
    assert caught.value.error_code == 190310
    with pytest.raises(RateLimitTimeoutError):
        await tencent_client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)
    assert time.monotonic() - started < 1.0
    only_call(fake_tencent)


async def test_an_exhausted_budget_fails_without_calling(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    client = client_for(fake_tencent, session, budget=CallBudget(1, 60.0))
    await client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)
    with pytest.raises(RateLimitTimeoutError):
        await client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)
    only_call(fake_tencent)


@pytest.mark.slow
async def test_fifty_concurrent_lookups_stay_within_the_budget(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    calls, window = 20, 0.5
    budget = CallBudget(calls, window, fair_share=50)  # one creator asks all 50: no share limit
    client = client_for(fake_tencent, session, budget=budget, total_timeout=5.0)

    async def lookup(n: int) -> int:
        if n % 2:
            found = await client.replays_by_id(SPEC_EXAMPLE_MEETING_ID, userid=SPEC_EXAMPLE_CREATOR)
        else:
            found = await client.replays_by_code(
                SPEC_EXAMPLE_MEETING_CODE, userid=SPEC_EXAMPLE_CREATOR
            )
        return len(found[0].live_replays)

    results = await asyncio.gather(*(lookup(n) for n in range(50)))
    assert results == [2] * 50
    assert len(fake_tencent.calls) == 50
    assert all(c.status == 200 for c in fake_tencent.calls)

    # Seen from the server, allowing for the few milliseconds between our send and its arrival.
    arrival_jitter = 0.1
    times = sorted(c.time for c in fake_tencent.calls)
    for first, last in zip(times, times[calls:], strict=False):
        assert last - first >= window - arrival_jitter
    # 50 calls at 20 a window need three windows: the budget really held them back.
    assert times[-1] - times[0] >= 2 * window - arrival_jitter


# --- ended meetings (history) --------------------------------------------------------------------

WINDOW_END = datetime(2025, 6, 1, tzinfo=UTC)
WINDOW_START = WINDOW_END - timedelta(days=30)


def seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def add_ended(
    fake: FakeTencent, n: int, end: datetime, *, creator: str = "alice", **options: Any
) -> str:
    """Meeting `n`, an hour long, ending at `end`; returns its meeting_id."""
    meeting_id = f"7{n:018d}"
    fake.add_meeting(
        meeting_id,
        f"{n:09d}",
        subject=f"meeting {n}",
        creator=creator,
        start=end - timedelta(hours=1),
        end=end,
        **options,
    )
    return meeting_id


async def history_request(
    fake: FakeTencent, session: aiohttp.ClientSession, userid: str, params: list[tuple[str, Any]]
) -> tuple[int, dict[str, Any]]:
    """A correctly signed history query with whatever parameters the client would never send."""
    uri = build_uri(f"/v1/history/meetings/{userid}", params)
    headers = signed_headers(
        fake.credentials,
        method="GET",
        uri=uri,
        body="",
        timestamp=int(time.time()),
        nonce=secrets.randbelow(2**31 - 1) + 1,
    )
    async with session.get(URL(fake.base_url + uri, encoded=True), headers=headers) as response:
        return response.status, await response.json()


async def test_thirty_ended_meetings_come_in_two_pages_newest_first(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.add_user("alice")
    in_window = [add_ended(fake_tencent, n, WINDOW_END - timedelta(hours=n)) for n in range(30)]
    add_ended(fake_tencent, 100, WINDOW_START - timedelta(seconds=1))  # ended before the window
    add_ended(fake_tencent, 101, WINDOW_END + timedelta(seconds=1))  # ended after it
    fake_tencent.add_meeting("7" * 19, "777777777", subject="still going", creator="alice")

    history = await tencent_client.ended_meetings("alice", start=WINDOW_START, end=WINDOW_END)

    meetings = history.entries
    assert [m.meeting_id for m in meetings] == in_window  # newest first
    first = meetings[0]
    assert (first.code, first.subject, first.recurring) == ("000000000", "meeting 0", False)
    assert (first.start, first.end) == (WINDOW_END - timedelta(hours=1), WINDOW_END)
    assert history.calls == 2
    assert [c.path for c in fake_tencent.calls] == ["/v1/history/meetings/alice"] * 2
    assert [c.query for c in fake_tencent.calls] == [
        {
            "page_size": "20",
            "page": str(page),
            "start_time": str(seconds(WINDOW_START)),
            "end_time": str(seconds(WINDOW_END)),
            "instanceid": "1",
        }
        for page in (1, 2)
    ]
    assert all(c.status == 200 for c in fake_tencent.calls)


async def test_max_pages_limits_the_calls(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.add_user("alice")
    for n in range(45):
        add_ended(fake_tencent, n, WINDOW_END - timedelta(hours=n))
    history = await tencent_client.ended_meetings(
        "alice", start=WINDOW_START, end=WINDOW_END, max_pages=2
    )
    assert (len(history.entries), history.calls) == (40, 2)
    assert len(fake_tencent.calls) == 2


async def test_attended_meetings_are_listed_but_their_replays_are_the_creators(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    for userid in ("alice", "bob", "carol"):
        fake_tencent.add_user(userid)
    created = add_ended(fake_tencent, 1, WINDOW_END - timedelta(days=1), creator="bob")
    attended = add_ended(
        fake_tencent,
        2,
        WINDOW_END - timedelta(days=2),
        creator="alice",
        attendees=["bob"],
        replays=[{"video_url": "https://meeting.tencent.com/l/x", "live_room_id": "1"}],
    )
    add_ended(fake_tencent, 3, WINDOW_END - timedelta(days=3), creator="carol")  # not bob's

    history = await tencent_client.ended_meetings("bob", start=WINDOW_START, end=WINDOW_END)

    assert [m.meeting_id for m in history.entries] == [created, attended]
    with pytest.raises(NotCreatorError):
        await tencent_client.replays_by_id(attended, userid="bob")
    assert fake_tencent.calls[-1].error_code == 190315
    (replays,) = await tencent_client.replays_by_id(attended, userid="alice")
    assert len(replays.live_replays) == 1


async def test_the_window_bounds_are_inclusive_on_the_end_time(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.add_user("alice")
    at_start = add_ended(fake_tencent, 1, WINDOW_START)
    at_end = add_ended(fake_tencent, 2, WINDOW_END)
    history = await tencent_client.ended_meetings("alice", start=WINDOW_START, end=WINDOW_END)
    assert [m.meeting_id for m in history.entries] == [at_end, at_start]


async def test_a_history_of_an_unknown_user_is_refused(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    with pytest.raises(UserNotRegisteredError):
        await tencent_client.ended_meetings("ghost", start=WINDOW_START, end=WINDOW_END)
    only_call(fake_tencent)


async def test_the_client_refuses_a_span_tencent_would_refuse_without_calling(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    with pytest.raises(ValueError):
        await tencent_client.ended_meetings(
            SPEC_EXAMPLE_CREATOR, start=WINDOW_END - timedelta(days=91), end=WINDOW_END
        )
    with pytest.raises(ValueError):
        await tencent_client.ended_meetings(
            SPEC_EXAMPLE_CREATOR, start=WINDOW_END, end=WINDOW_START
        )
    assert fake_tencent.calls == []


def window(start: datetime, end: datetime) -> list[tuple[str, Any]]:
    return [("start_time", seconds(start)), ("end_time", seconds(end)), ("instanceid", 1)]


@pytest.mark.parametrize(
    "params",
    [
        window(WINDOW_END - timedelta(days=90, seconds=1), WINDOW_END),
        window(WINDOW_END, WINDOW_END - timedelta(seconds=1)),
        [("page_size", 21), *window(WINDOW_START, WINDOW_END)],
        [("page", 0), *window(WINDOW_START, WINDOW_END)],
        [("start_time", "yesterday"), ("end_time", seconds(WINDOW_END)), ("instanceid", 1)],
        [("start_time", seconds(WINDOW_START)), ("end_time", seconds(WINDOW_END))],
    ],
    ids=["span-over-90-days", "end-before-start", "page-size-21", "page-0", "bad-time", "no-inst"],
)
async def test_the_fake_refuses_what_tencent_refuses(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession, params: list[tuple[str, Any]]
) -> None:
    status, body = await history_request(fake_tencent, session, SPEC_EXAMPLE_CREATOR, params)
    assert (status, body["error_info"]["error_code"]) == (400, 10001)
    assert fake_tencent.calls[-1].error_code == 10001


async def test_the_fake_takes_exactly_90_days_and_pages_of_10_by_default(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession
) -> None:
    fake_tencent.add_user("alice")
    for n in range(12):
        add_ended(fake_tencent, n, WINDOW_END - timedelta(days=n * 7))
    start = WINDOW_END - timedelta(days=90)
    status, body = await history_request(fake_tencent, session, "alice", window(start, WINDOW_END))
    assert status == 200
    assert {k: body[k] for k in ("total_count", "total_page", "current_page", "current_size")} == {
        "total_count": 12,
        "total_page": 2,
        "current_page": 1,
        "current_size": 10,
    }
    # Unix seconds as strings, as Tencent sends them.
    assert body["meeting_info_list"][0]["end_time"] == str(seconds(WINDOW_END))


@pytest.mark.parametrize("bound", ["start_time", "end_time"])
async def test_the_fake_assumes_31_days_from_a_single_bound(
    fake_tencent: FakeTencent, session: aiohttp.ClientSession, bound: str
) -> None:
    fake_tencent.add_user("alice")
    anchor = WINDOW_START if bound == "start_time" else WINDOW_END
    away = 1 if bound == "start_time" else -1
    inside = add_ended(fake_tencent, 1, anchor + away * timedelta(days=31))
    add_ended(fake_tencent, 2, anchor + away * timedelta(days=31, seconds=1))
    status, body = await history_request(
        fake_tencent, session, "alice", [(bound, seconds(anchor)), ("instanceid", 1)]
    )
    assert status == 200
    assert [m["meeting_id"] for m in body["meeting_info_list"]] == [inside]


async def test_a_history_page_missing_meeting_ids_is_malformed(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.add_user("alice")
    add_ended(fake_tencent, 1, WINDOW_END)
    fake_tencent.missing_fields_next(1)
    with pytest.raises(MalformedResponseError, match="meeting_id"):
        await tencent_client.ended_meetings("alice", start=WINDOW_START, end=WINDOW_END)
    only_call(fake_tencent)
