"""The audit line's fields, built from what an answer showed: counts and outcomes, never an address
or a password (the lines written by the running app are tested in tests/e2e/test_audit.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from bot.core import audit
from bot.core.meetings import MeetingRef, Recording, RecordingFile, RecordingState, Sharing
from bot.core.outcomes import LookupProblem, LookupResult, Owner
from bot.logs import JsonFormatter
from tests.fakes.core import meeting, replay

SHARED = Sharing(url="https://meeting.tencent.com/v2/cloud-record/share?id=x", password="8642")


def found() -> LookupResult:
    recording = Recording(
        "r1", RecordingState.READY, (RecordingFile("f1"), RecordingFile("f2")), sharing=SHARED
    )
    streamed = replace(
        meeting("7" * 19, "806146667", replay(1), replay(2)), recordings=(recording,)
    )
    return LookupResult(ref=MeetingRef("code", "806146667"), meetings=(streamed,))


def test_a_look_up_counts_what_it_showed_and_names_no_address_or_password() -> None:
    fields = audit.lookup_fields(audit.Action.LOOKUP, "T1", "U1", found())

    assert fields == {
        "audit": "lookup",
        "team": "T1",
        "user": "U1",
        "channel": "",
        "meeting": "806146667",
        "meeting_ids": "7" * 19,
        "meetings": 1,
        "live_replays": 2,
        "recording_files": 2,
        "outcome": "ok",
    }
    assert "http" not in audit.text_of(fields) and "8642" not in audit.text_of(fields)


def test_a_refusal_names_its_problem_and_the_creator() -> None:
    refused = LookupResult(
        ref=MeetingRef("id", "7" * 19),
        problem=LookupProblem.ONLY_CREATOR,
        owner=Owner("alice", "U9"),
    )

    fields = audit.lookup_fields(audit.Action.SHARE, "T1", "U2", refused)

    assert fields["outcome"] == "only_creator" and fields["creator"] == "alice"
    assert (fields["meetings"], fields["live_replays"], fields["recording_files"]) == (0, 0, 0)
    assert audit.text_of(fields).startswith("audit share team=T1 user=U2 meeting=" + "7" * 19)


def test_the_json_line_carries_the_fields_as_numbers_and_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger=audit.AUDIT_LOGGER):
        audit.write(audit.lookup_fields(audit.Action.LOOKUP, "T1", "U1", found()))

    (record,) = caplog.records
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"]) == ("INFO", "bot.audit")
    assert (line["audit"], line["live_replays"], line["outcome"]) == ("lookup", 2, "ok")
