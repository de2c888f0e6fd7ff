"""The share button: it carries what was found and who asked, and refuses anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.meetings import MeetingRef
from bot.core.outcomes import LookupProblem, LookupResult
from bot.slack.render.messages import (
    render_lookup,
)
from bot.slack.render.share import ShareRequest, parse_share_value, share_value
from tests.slack.render.support import (
    CODE,
    ID,
    OTHER,
    found,
    meeting,
    share_buttons,
)


def test_the_share_button_carries_the_found_refs_and_the_requester() -> None:
    results = [
        found(meeting(1)),
        LookupResult(ref=OTHER, problem=LookupProblem.NOT_CREATOR),
        LookupResult(ref=MeetingRef("code", "111222333")),
        found(meeting(1), ID),
    ]
    messages = render_lookup(results, locale="en", requester="U0ABC", shareable=True)
    [button] = share_buttons(messages)
    assert len(button["value"]) <= 2000
    assert parse_share_value(button["value"]) == ShareRequest(refs=(CODE, ID), requester="U0ABC")


@pytest.mark.parametrize(("requester", "shareable"), [("U1", False), (None, True)])
def test_no_share_button_without_permission_or_requester(
    requester: str | None, shareable: bool
) -> None:
    messages = render_lookup(
        [found(meeting(1))], locale="en", requester=requester, shareable=shareable
    )
    assert share_buttons(messages) == []


def test_share_values_round_trip() -> None:
    value = share_value([CODE, ID, CODE], "U1")
    assert value is not None
    assert parse_share_value(value) == ShareRequest(refs=(CODE, ID), requester="U1")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "null",
        "[]",
        "{}",
        '{"u":"U1"}',
        '{"u":"U1","r":[]}',
        '{"u":"U1","r":["c12"]}',
        '{"u":"U1","r":["x295150176"]}',
        '{"u":"U1","r":["i295150176"]}',
        '{"u":"U1","r":["c7567173273889276131"]}',
        '{"u":"U1","r":[295150176]}',
        '{"u":"<!channel>","r":["c295150176"]}',
        '{"u":1,"r":["c295150176"]}',
        "[" * 100_000,
    ],
)
def test_garbage_share_values_are_refused(value: str) -> None:
    assert parse_share_value(value) is None


@given(st.text())
def test_parse_share_value_never_raises(value: str) -> None:
    result = parse_share_value(value)
    assert result is None or isinstance(result, ShareRequest)
