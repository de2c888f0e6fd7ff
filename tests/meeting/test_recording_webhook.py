"""`recording.completed` / `recording.deleted` read into the core's values: which meeting, whose,
which files, and the occurrence key that makes redeliveries one job."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.core.records import (
    RECORDING_COMPLETED,
    RECORDING_DELETED,
    RecordingChange,
    recording_occurrence_key,
)
from bot.meeting.webhook import meetings_ended, parse_event, recording_changes
from tests.fakes.tencent_webhook import (
    meeting_end_event,
    recording_completed_event,
    recording_deleted_event,
)

MEETING_ID = "1900004128969145064"


def changes(event: dict[str, object]) -> list[RecordingChange]:
    return recording_changes(parse_event(json.dumps(event).encode()))


def test_recording_completed_names_the_meeting_its_creator_and_its_files() -> None:
    event = recording_completed_event(
        MEETING_ID,
        "806146667",
        "Weekly",
        "tester",
        ["f1", "f2"],
        start_time=1_700_000_000,
        end_time=1_700_003_600,
        creator_name="Tess",
    )
    (change,) = changes(event)
    assert change.event == RECORDING_COMPLETED
    assert change.record_file_ids == ("f1", "f2")
    meeting = change.meeting
    assert (meeting.meeting_id, meeting.meeting_code, meeting.subject) == (
        MEETING_ID,
        "806146667",
        "Weekly",
    )
    assert (meeting.creator_userid, meeting.creator_name) == ("tester", "Tess")
    assert meeting.start_time == datetime.fromtimestamp(1_700_000_000, UTC)
    assert meeting.end_time == datetime.fromtimestamp(1_700_003_600, UTC)
    assert meeting.recording_event == RECORDING_COMPLETED
    assert meeting.deleted_files == ()
    # Not a meeting's end: no meeting.end job comes of it.
    assert meetings_ended(parse_event(json.dumps(event).encode())) == []


def test_redeliveries_share_a_key_and_other_files_or_events_do_not() -> None:
    def key(event: dict[str, object]) -> str:
        (change,) = changes(event)
        return change.meeting.occurrence_key

    first = recording_completed_event(MEETING_ID, "1", "s", "u", ["f1", "f2"], trace_id="a")
    again = recording_completed_event(MEETING_ID, "1", "s", "u", ["f2", "f1"], trace_id="b")
    other = recording_completed_event(MEETING_ID, "1", "s", "u", ["f3"])
    deleted = recording_deleted_event(MEETING_ID, "1", "s", "u", ["f1", "f2"])
    ended = meetings_ended(
        parse_event(json.dumps(meeting_end_event(MEETING_ID, "1", "s", "u")).encode())
    )
    assert key(first) == key(again)
    assert len({key(first), key(other), key(deleted), ended[0].occurrence_key}) == 4


def test_a_deletion_carries_the_removed_files_in_its_key() -> None:
    (change,) = changes(recording_deleted_event(MEETING_ID, "1", "s", "u", ["f2", "f1"]))
    assert change.event == RECORDING_DELETED
    assert change.meeting.recording_event == RECORDING_DELETED
    assert change.meeting.deleted_files == ("f1", "f2")


def test_a_deletion_of_very_many_files_keeps_a_bounded_distinct_key() -> None:
    many = [f"{1_700_000_000_000_000_000 + i}" for i in range(200)]
    key = recording_occurrence_key(RECORDING_DELETED, MEETING_ID, many)
    fewer = recording_occurrence_key(RECORDING_DELETED, MEETING_ID, many[:-1])
    assert len(key) < 1000
    assert key != fewer


def test_items_without_a_meeting_and_other_events_are_skipped() -> None:
    event = recording_completed_event(MEETING_ID, "1", "s", "u", ["f1"])
    event["payload"].append({"recording_files": [{"record_file_id": "x"}]})  # type: ignore[attr-defined]
    assert [c.record_file_ids for c in changes(event)] == [("f1",)]
    assert changes(meeting_end_event(MEETING_ID, "1", "s", "u")) == []
