"""Tencent's recordings in the core's words: files, sharing, states, one meeting per meeting ID."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.meetings import RecordingState
from bot.meeting.recording_models import RecordMeeting, RecordsPage, recorded_meetings
from tests.meeting.test_recording_models import MEETING_ID, SHARED_BODY, STARTED


def test_a_shared_recording_becomes_a_ready_recording_with_its_sharing() -> None:
    [found] = recorded_meetings(RecordsPage.model_validate(SHARED_BODY).record_meetings)

    assert found.host_userid == "alice"
    meeting = found.meeting
    assert (meeting.meeting_id, meeting.code, meeting.subject) == (MEETING_ID, "806146667", "周会")
    assert meeting.live_replays == ()
    [recording] = meeting.recordings
    assert recording.record_id == "1700000000000000001"
    assert recording.state is RecordingState.READY
    assert recording.start == STARTED
    [file] = recording.files
    assert file.file_id == "1700000000000000002"
    assert (file.start, file.end) == (STARTED, datetime(2024, 5, 1, 9, 30, tzinfo=UTC))
    assert file.size_bytes == 52428800
    assert file.key == "recording:1700000000000000002"
    sharing = recording.sharing
    assert sharing is not None
    assert sharing.url.startswith("https://meeting.tencent.com/v2/cloud-record/share")
    assert sharing.password == "4321"
    assert sharing.expires is None
    assert (sharing.members_only, sharing.participants_only, sharing.allow_download) == (
        True,
        False,
        True,
    )
    assert meeting.has_replays and not meeting.processing


def test_sharing_off_is_no_sharing_and_no_download_address_exists_in_the_core() -> None:
    entry = RecordMeeting.model_validate(
        {
            "meeting_id": MEETING_ID,
            "state": 3,
            "record_files": [{"record_file_id": "9", "sharing_state": 0, "record_size": "10"}],
        }
    )
    recording = entry.core()
    assert recording.sharing is None
    assert [f.file_id for f in recording.files] == ["9"]
    assert "download" not in repr(recording)


def test_states_recording_and_transcoding_are_not_ready_and_list_no_file() -> None:
    recording = RecordMeeting.model_validate({"meeting_id": MEETING_ID, "state": 1}).core()
    transcoding = RecordMeeting.model_validate({"meeting_id": MEETING_ID, "state": "2"}).core()
    assert recording.state is RecordingState.RECORDING
    assert transcoding.state is RecordingState.PROCESSING
    assert recording.files == transcoding.files == ()
    # An undocumented state: watchable when Tencent lists files, processing otherwise.
    odd = RecordMeeting.model_validate(
        {"meeting_id": MEETING_ID, "state": 7, "record_files": [{"record_file_id": "1"}]}
    )
    assert odd.core().state is RecordingState.READY
    empty = RecordMeeting.model_validate({"meeting_id": MEETING_ID, "state": 0})
    assert empty.core().state is RecordingState.PROCESSING


def test_recordings_are_grouped_per_meeting_and_a_repeated_one_is_kept_once() -> None:
    def entry(meeting_id: str, record_id: str, state: int = 3) -> RecordMeeting:
        return RecordMeeting.model_validate(
            {
                "meeting_id": meeting_id,
                "meeting_record_id": record_id,
                "meeting_code": "806146667",
                "subject": f"meeting {meeting_id}",
                "state": state,
                "record_files": [{"record_file_id": f"f{record_id}"}],
            }
        )

    found = recorded_meetings(
        [entry("1", "a"), entry("2", "b"), entry("1", "c", state=2), entry("1", "a")]
    )

    assert [f.meeting.meeting_id for f in found] == ["1", "2"]
    first = found[0].meeting
    assert [r.record_id for r in first.recordings] == ["a", "c"]
    assert first.processing
    assert first.keys == ("recording:fa",)
