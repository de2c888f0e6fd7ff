"""Reading Tencent's cloud-recording bodies (`GET /v1/records`, `GET /v1/addresses/{id}`).

The bodies are spelled the ways Tencent spells them (spec/tencent-meeting.md section 6) and the odd
ways such APIs drift to: numbers as strings, times in milliseconds as text, missing optional fields,
nulls. What must hold is what a card is built from.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.meeting.recording_models import (
    CLOUD_RECORDING,
    DONE,
    TRANSCODING,
    UPLOADED,
    RecordAddresses,
    RecordFile,
    RecordMeeting,
    RecordsPage,
)

MEETING_ID = "18446744073709551617"  # above int64: must stay text
STARTED_MS = 1_714_554_000_000  # 2024-05-01 09:00:00 UTC
STARTED = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)

SHARED_BODY = {
    "total_count": 1,
    "total_page": 1,
    "current_page": 1,
    "current_size": 1,
    "record_meetings": [
        {
            "meeting_record_id": "1700000000000000001",
            "meeting_id": MEETING_ID,
            "meeting_code": "806146667",
            "subject": "周会",
            "host_user_id": "alice",
            "media_start_time": STARTED_MS,
            "state": 3,
            "record_type": 0,
            "record_files": [
                {
                    "record_file_id": "1700000000000000002",
                    "record_start_time": STARTED_MS,
                    "record_end_time": STARTED_MS + 1_800_000,
                    "record_size": 52428800,
                    "sharing_state": 1,
                    "sharing_url": "https://meeting.tencent.com/v2/cloud-record/share?id=abc&from=3",
                    "password": "4321",
                    "sharing_expire": 0,
                    "required_same_corp": True,
                    "required_participant": False,
                    "allow_download": True,
                    "some_new_field": {"ignored": True},
                }
            ],
        }
    ],
}


def test_a_shared_recording_as_tencent_documents_it() -> None:
    page = RecordsPage.model_validate(SHARED_BODY)

    assert (page.total_count, page.total_page, page.current_page) == (1, 1, 1)
    [meeting] = page.record_meetings
    assert meeting.meeting_id == MEETING_ID
    assert meeting.media_start_time == STARTED
    assert (meeting.state, meeting.record_type) == (DONE, CLOUD_RECORDING)
    assert meeting.done and not meeting.processing
    [file] = meeting.record_files
    assert file.record_start_time == STARTED
    assert file.record_end_time == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    assert file.record_size == 52428800
    assert file.shared
    assert file.password == "4321"
    assert file.sharing_expire is None, "0 means the link never expires"
    assert (file.required_same_corp, file.required_participant, file.allow_download) == (
        True,
        False,
        True,
    )


def test_numbers_as_strings_and_flags_as_text() -> None:
    file = RecordFile.model_validate(
        {
            "record_file_id": 1700000000000000002,
            "record_start_time": str(STARTED_MS),
            "record_end_time": "1714555800000",
            "record_size": "1024",
            "sharing_state": "1",
            "sharing_url": "https://meeting.tencent.com/v2/cloud-record/share?id=abc",
            "password": 1234,
            "sharing_expire": "1717200000000",
            "required_same_corp": "1",
            "required_participant": "false",
            "allow_download": 0,
        }
    )

    assert file.record_file_id == "1700000000000000002"
    assert file.record_start_time == STARTED
    assert file.record_size == 1024
    assert file.shared
    assert file.password == "1234"
    assert file.sharing_expire == datetime(2024, 6, 1, tzinfo=UTC)
    assert (file.required_same_corp, file.required_participant, file.allow_download) == (
        True,
        False,
        False,
    )


def test_sharing_off_leaves_out_the_sharing_fields() -> None:
    file = RecordFile.model_validate(
        {"record_file_id": "1", "record_start_time": STARTED_MS, "sharing_state": 0}
    )

    assert not file.shared
    assert (file.sharing_url, file.password, file.sharing_expire) == ("", "", None)
    assert not (file.required_same_corp or file.required_participant or file.allow_download)
    assert file.record_end_time is None
    assert file.record_size == 0


def test_sharing_on_without_a_link_is_not_shared() -> None:
    file = RecordFile.model_validate(
        {"record_file_id": "1", "sharing_state": 1, "sharing_url": None}
    )
    assert not file.shared


def test_a_recording_still_transcoding_has_no_files() -> None:
    meeting = RecordMeeting.model_validate(
        {
            "meeting_id": MEETING_ID,
            "media_start_time": str(STARTED_MS),
            "state": "2",
            "record_type": "2",
            "record_files": None,
        }
    )

    assert meeting.state == TRANSCODING
    assert meeting.processing and not meeting.done
    assert meeting.record_type == UPLOADED
    assert meeting.record_files == []
    assert meeting.media_start_time == STARTED


def test_an_empty_page_in_any_spelling() -> None:
    for body in ({}, {"total_count": "0", "record_meetings": None}, {"total_page": ""}):
        page = RecordsPage.model_validate(body)
        assert page.total_count == 0
        assert page.record_meetings == []


def test_seconds_and_unreadable_times() -> None:
    meeting = RecordMeeting.model_validate(
        {"meeting_id": 1, "media_start_time": 1_714_554_000, "state": 3}
    )
    assert meeting.meeting_id == "1"
    assert meeting.media_start_time == STARTED

    odd = RecordMeeting.model_validate({"meeting_id": "1", "media_start_time": "soon"})
    assert odd.media_start_time is None
    assert odd.state == 0


@pytest.mark.parametrize(
    "body",
    [
        {"record_meetings": [{"subject": "no meeting id"}]},
        {"record_meetings": [{"meeting_id": "1", "record_files": [{"record_size": 1}]}]},
    ],
)
def test_a_recording_without_its_ids_is_malformed(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RecordsPage.model_validate(body)


def test_addresses_with_extra_fields_and_missing_ones() -> None:
    addresses = RecordAddresses.model_validate(
        {
            "record_file_id": 1700000000000000002,
            "meeting_id": MEETING_ID,
            "view_address": "https://meeting.tencent.com/user-center/meeting-record/info?id=1",
            "download_address": "https://cos.example/record.mp4?sign=x&t=1714557600",
            "download_address_file_type": "MP4",
            "ai_minutes": [{"minute": "..."}],
            "meeting_summary": None,
        }
    )
    assert addresses.record_file_id == "1700000000000000002"
    assert addresses.view_address.startswith("https://meeting.tencent.com/")
    assert addresses.download_address.endswith("t=1714557600")

    bare = RecordAddresses.model_validate({"view_address": None})
    assert (bare.view_address, bare.download_address) == ("", "")
