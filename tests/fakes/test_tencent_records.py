"""The fake Tencent's cloud recordings, over real signed HTTP, and its recording events.

These pin the fake to spec/tencent-meeting.md section 6 so that tests of the bot built on it test
against Tencent's rules: the 31-day window, paging, files only once transcoded, sharing fields only
when sharing is on, creator/admin permission, the one app-wide quota, and events that the bot's own
webhook verifier accepts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from bot.meeting.recording_models import RecordAddresses, RecordsPage
from bot.meeting.webhook import decode_data, read_delivery
from tests.fakes.tencent import FakeTencent, signed_get
from tests.fakes.tencent_protocol import (
    BAD_PARAMETER,
    BAD_SIGNATURE,
    MEETING_CODE_NOT_FOUND,
    MEETING_ID_NOT_FOUND,
    NOT_CREATOR,
    OVER_QUOTA,
    USER_NOT_REGISTERED,
)
from tests.fakes.tencent_records import DOWNLOAD_ADDRESS_TTL, TRANSCODING, RecordingSharing
from tests.fakes.tencent_webhook import signed_delivery

MEETING_ID = "7567173273889276131"
MEETING_CODE = "806146667"
OTHER_MEETING_ID = "7567173273889276999"
CREATOR = "alice"
MEETING_START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
MEETING_END = MEETING_START + timedelta(hours=1)
DAY = 86400
TOKEN = "TokenTokenTokenTokenToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTencent]:
    async with FakeTencent() as server:
        server.add_user(CREATOR, username="Alice")
        server.add_user("bob")
        server.add_user("root", super_admin=True)
        server.add_user("clerk", manages_recordings=True)
        server.add_meeting(
            MEETING_ID,
            MEETING_CODE,
            subject="Weekly sync",
            creator=CREATOR,
            start=MEETING_START,
            end=MEETING_END,
        )
        server.add_meeting(
            OTHER_MEETING_ID, "806146999", subject="Other", creator="bob", start=MEETING_START
        )
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def records_query(
    operator: str = CREATOR,
    *,
    start: datetime = MEETING_START - timedelta(days=1),
    span: int = 7 * DAY,
    meeting: tuple[str, str] = ("meeting_id", MEETING_ID),
    **extra: str | int,
) -> list[tuple[str, str | int]]:
    first = int(start.timestamp())
    return [
        ("operator_id", operator),
        ("operator_id_type", 1),
        meeting,
        ("start_time", first),
        ("end_time", first + span),
        *extra.items(),
    ]


async def get_records(
    session: aiohttp.ClientSession, fake: FakeTencent, operator: str = CREATOR, **kwargs: Any
) -> tuple[int, Any]:
    return await signed_get(session, fake, "/v1/records", records_query(operator, **kwargs))


def error_code(body: Any) -> int:
    return int(body["error_info"]["error_code"])


# --- the window and the required parameters ------------------------------------------------------


async def test_a_window_over_31_days_is_a_parameter_error(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    fake.add_recording(MEETING_ID)

    status, body = await get_records(session, fake, span=31 * DAY + 1)
    assert (status, error_code(body)) == (400, BAD_PARAMETER)

    status, body = await get_records(session, fake, span=31 * DAY)
    assert status == 200
    assert body["total_count"] == 1


async def test_a_window_ending_before_it_starts_is_a_parameter_error(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    query = [
        ("operator_id", CREATOR),
        ("operator_id_type", 1),
        ("meeting_id", MEETING_ID),
        ("start_time", 1_714_600_000),
        ("end_time", 1_714_500_000),
    ]
    status, body = await signed_get(session, fake, "/v1/records", query)
    assert (status, error_code(body)) == (400, BAD_PARAMETER)


@pytest.mark.parametrize(
    "missing", ["operator_id", "operator_id_type", "start_time", "end_time", "meeting_id"]
)
async def test_each_required_parameter_is_required(
    fake: FakeTencent, session: aiohttp.ClientSession, missing: str
) -> None:
    query = [(name, value) for name, value in records_query() if name != missing]
    status, body = await signed_get(session, fake, "/v1/records", query)
    assert (status, error_code(body)) == (400, BAD_PARAMETER)


async def test_times_in_milliseconds_are_not_seconds(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    # A client that sends milliseconds gets a span of decades, not a silent empty list.
    start_ms = int(MEETING_START.timestamp()) * 1000
    query = [
        ("operator_id", CREATOR),
        ("operator_id_type", 1),
        ("meeting_id", MEETING_ID),
        ("start_time", start_ms),
        ("end_time", start_ms + DAY * 1000),
    ]
    status, body = await signed_get(session, fake, "/v1/records", query)
    assert (status, error_code(body)) == (400, BAD_PARAMETER)


async def test_by_meeting_code_and_unknown_meetings(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    fake.add_recording(MEETING_ID)

    status, body = await get_records(session, fake, meeting=("meeting_code", MEETING_CODE))
    assert status == 200
    assert [m["meeting_id"] for m in body["record_meetings"]] == [MEETING_ID]

    status, body = await get_records(session, fake, meeting=("meeting_code", "123456789"))
    assert (status, error_code(body)) == (400, MEETING_CODE_NOT_FOUND)
    status, body = await get_records(session, fake, meeting=("meeting_id", "1" * 19))
    assert (status, error_code(body)) == (500, MEETING_ID_NOT_FOUND)


# --- paging and the window ----------------------------------------------------------------------


async def test_paging_and_the_window_by_media_start_time(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    inside = [
        fake.add_recording(MEETING_ID, start=MEETING_START + timedelta(hours=i)) for i in range(25)
    ]
    fake.add_recording(MEETING_ID, start=MEETING_START - timedelta(days=2))
    fake.add_recording(MEETING_ID, start=MEETING_START + timedelta(days=8))

    status, first = await get_records(session, fake, page_size=20, page=1)
    assert status == 200
    assert (first["total_count"], first["total_page"]) == (25, 2)
    assert (first["current_page"], first["current_size"]) == (1, 20)
    _, second = await get_records(session, fake, page_size=20, page=2)
    assert (second["current_page"], second["current_size"]) == (2, 5)
    _, beyond = await get_records(session, fake, page_size=20, page=3)
    assert beyond["record_meetings"] == []

    listed = [m["meeting_record_id"] for m in first["record_meetings"] + second["record_meetings"]]
    assert sorted(listed) == sorted(r.meeting_record_id for r in inside)
    starts = [m["media_start_time"] for m in first["record_meetings"]]
    assert starts == sorted(starts, reverse=True), "newest first"
    window_start = int((MEETING_START - timedelta(days=1)).timestamp()) * 1000
    assert all(window_start <= s <= window_start + 7 * DAY * 1000 for s in starts)


async def test_page_size_over_20_is_a_parameter_error(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    status, body = await get_records(session, fake, page_size=21)
    assert (status, error_code(body)) == (400, BAD_PARAMETER)


# --- state and sharing --------------------------------------------------------------------------


async def test_files_are_listed_only_once_transcoded(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    recording = fake.add_recording(MEETING_ID, state=TRANSCODING, files=2)

    _, body = await get_records(session, fake)
    [entry] = body["record_meetings"]
    assert entry["state"] == 2
    assert not entry.get("record_files")
    assert RecordsPage.model_validate(body).record_meetings[0].processing

    assert fake.finish_transcoding(MEETING_ID) == [recording]
    _, body = await get_records(session, fake)
    [entry] = body["record_meetings"]
    assert entry["state"] == 3
    assert [f["record_file_id"] for f in entry["record_files"]] == recording.record_file_ids
    first, second = entry["record_files"]
    assert first["record_end_time"] == second["record_start_time"]
    assert first["record_start_time"] == int(MEETING_START.timestamp()) * 1000


async def test_sharing_fields_only_when_sharing_is_on(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    fake.add_recording(MEETING_ID, files=2)

    _, body = await get_records(session, fake)
    for file in body["record_meetings"][0]["record_files"]:
        assert file["sharing_state"] == 0
        assert not {"sharing_url", "password", "sharing_expire"} & file.keys()

    expires = datetime(2024, 6, 1, tzinfo=UTC)
    fake.set_sharing(
        MEETING_ID,
        RecordingSharing(password="4321", expires=expires, required_same_corp=True),
    )
    _, body = await get_records(session, fake)
    files = body["record_meetings"][0]["record_files"]
    assert {f["sharing_url"] for f in files} == {fake.sharing_url(MEETING_ID)}
    for file in files:
        assert file["sharing_state"] == 1
        assert file["password"] == "4321"
        assert file["sharing_expire"] == int(expires.timestamp()) * 1000
        assert (file["required_same_corp"], file["required_participant"]) == (True, False)
        assert file["allow_download"] is False
    [parsed, _] = RecordsPage.model_validate(body).record_meetings[0].record_files
    assert parsed.shared
    assert parsed.sharing_expire == expires

    fake.set_sharing(MEETING_ID, RecordingSharing())
    _, body = await get_records(session, fake)
    file = body["record_meetings"][0]["record_files"][0]
    assert (file["password"], file["sharing_expire"]) == ("", 0), "no password, never expires"


# --- who may read -------------------------------------------------------------------------------


async def test_only_the_creator_an_admin_or_a_recording_manager_may_read(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    fake.add_recording(MEETING_ID)

    status, body = await get_records(session, fake, "bob")
    assert (status, error_code(body)) == (403, NOT_CREATOR)
    status, body = await get_records(session, fake, "nobody")
    assert (status, error_code(body)) == (500, USER_NOT_REGISTERED)
    for allowed in (CREATOR, "root", "clerk"):
        status, body = await get_records(session, fake, allowed)
        assert status == 200, allowed
        assert body["total_count"] == 1


async def test_records_are_signed_like_every_other_endpoint(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    url = f"{fake.base_url}/v1/records?operator_id={CREATOR}&operator_id_type=1"
    headers = {"X-TC-Key": fake.credentials.secret_id, "AppId": fake.credentials.app_id}
    headers |= {"X-TC-Timestamp": str(int(fake.clock())), "X-TC-Nonce": "7"}
    headers |= {"X-TC-Signature": "bm90IGEgc2lnbmF0dXJl", "X-TC-Registered": "1"}
    headers["Content-Type"] = "application/json"
    async with session.get(url, headers=headers) as response:
        assert response.status == 500
        assert error_code(await response.json()) == BAD_SIGNATURE


async def test_one_quota_for_every_endpoint_whoever_calls(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeTencent(calls_per_minute=3) as fake:
        fake.add_user(CREATOR)
        fake.add_user("root", super_admin=True)
        fake.add_meeting(MEETING_ID, MEETING_CODE, subject="s", creator=CREATOR)
        file_id = fake.add_recording(MEETING_ID, start=MEETING_START).record_file_ids[0]
        user_path = f"/v1/users/{CREATOR}"
        await signed_get(
            session, fake, user_path, [("operator_id", "root"), ("operator_id_type", 1)]
        )
        await get_records(session, fake, "root")
        address_query = [("operator_id", CREATOR), ("operator_id_type", 1)]
        status, _ = await signed_get(session, fake, f"/v1/addresses/{file_id}", address_query)
        assert status == 200
        status, body = await get_records(session, fake, CREATOR)
        assert (status, error_code(body)) == (429, OVER_QUOTA)
        assert fake.call_counts() == {"user_detail": 1, "records": 2, "addresses": 1}


# --- addresses ----------------------------------------------------------------------------------


async def test_addresses_of_a_file_with_an_expiring_download_link(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    file_id = fake.add_recording(MEETING_ID).record_file_ids[0]
    path = f"/v1/addresses/{file_id}"

    status, body = await signed_get(
        session, fake, path, [("operator_id", CREATOR), ("operator_id_type", 1)]
    )
    assert status == 200
    addresses = RecordAddresses.model_validate(body)
    assert addresses.view_address.startswith("https://meeting.tencent.com/")
    expiry = int(parse_qs(urlsplit(addresses.download_address).query)["t"][0])
    assert 0 < expiry - fake.clock() <= DOWNLOAD_ADDRESS_TTL

    status, body = await signed_get(
        session, fake, path, [("operator_id", "bob"), ("operator_id_type", 1)]
    )
    assert (status, error_code(body)) == (403, NOT_CREATOR)
    status, _ = await signed_get(
        session, fake, path, [("operator_id", "root"), ("operator_id_type", 1)]
    )
    assert status == 200
    assert len(fake.calls_to("addresses")) == 3


async def test_no_addresses_for_a_file_not_yet_listed(
    fake: FakeTencent, session: aiohttp.ClientSession
) -> None:
    file_id = fake.add_recording(MEETING_ID, state=TRANSCODING).record_file_ids[0]
    query = [("operator_id", CREATOR), ("operator_id_type", 1)]
    status, body = await signed_get(session, fake, f"/v1/addresses/{file_id}", query)
    assert (status, error_code(body)) == (500, MEETING_ID_NOT_FOUND)


# --- events -------------------------------------------------------------------------------------


@pytest.mark.parametrize("aes_key", [None, AES_KEY])
def test_recording_completed_is_accepted_by_the_bots_verifier(
    fake: FakeTencent, aes_key: str | None
) -> None:
    recording = fake.add_recording(MEETING_ID, files=2)
    event = fake.recording_completed_event(MEETING_ID)

    headers, body = signed_delivery(event, token=TOKEN, aes_key=aes_key)
    parsed = read_delivery(
        token=TOKEN,
        aes_key=aes_key,
        timestamp=headers["timestamp"],
        nonce=headers["nonce"],
        signature=headers["signature"],
        body=body,
    )
    assert parsed.event == "recording.completed"
    [item] = parsed.payload
    assert item.meeting_info is not None
    assert (item.meeting_info.meeting_id, item.meeting_info.creator_userid) == (MEETING_ID, CREATOR)
    assert item.meeting_info.end_time == MEETING_END

    raw = json.loads(decode_data(json.loads(body)["data"], aes_key))
    [payload] = raw["payload"]
    assert payload["recording_files"] == [{"record_file_id": i} for i in recording.record_file_ids]
    info = payload["meeting_info"]
    assert (info["start_time"], info["end_time"]) == (
        int(MEETING_START.timestamp()),
        int(MEETING_END.timestamp()),
    )
    assert info["creator"] == {"userid": CREATOR, "user_name": "Alice"}
    assert {"media_set_type", "meeting_code", "subject", "meeting_type"} <= info.keys()
    assert "meeting_record_id" not in json.dumps(raw)
    assert "sharing_url" not in json.dumps(raw)


def test_recording_deleted_names_the_removed_files(fake: FakeTencent) -> None:
    kept = fake.add_recording(MEETING_ID)
    removed = fake.delete_recordings(MEETING_ID)
    assert removed == [kept]
    assert fake.recordings(MEETING_ID) == []

    event = fake.recording_deleted_event(MEETING_ID, removed)
    headers, body = signed_delivery(event, token=TOKEN, aes_key=AES_KEY)
    parsed = read_delivery(
        token=TOKEN,
        aes_key=AES_KEY,
        timestamp=headers["timestamp"],
        nonce=headers["nonce"],
        signature=headers["signature"],
        body=body,
    )
    assert parsed.event == "recording.deleted"
    raw = json.loads(decode_data(json.loads(body)["data"], AES_KEY))
    assert raw["payload"][0]["recording_files"] == [{"record_file_id": kept.record_file_ids[0]}]
