"""The audit trail end to end: the real app, signed Slack requests, and the lines of the `bot.audit`
logger as `LOG_FORMAT=json` writes them. Each look-up, share, link change and subscription change
is one line saying who, which meeting, how much was shown (counts) and the outcome, and no line
carries an address or a password.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.audit import AUDIT_LOGGER
from bot.logs import JsonFormatter
from tests.e2e.conftest import RunningBot, answered_in_ack
from tests.e2e.test_home_and_shortcut import open_home
from tests.e2e.test_recordings_lookup import PASSWORD, SHARING
from tests.fakes.tencent import FakeTencent

MEETING_ID = "7000000000000000002"
CODE = "700000002"
REPLAYS = [
    {"live_room_id": str(n), "video_url": f"https://meeting.tencent.com/l/audit{n}"} for n in (1, 2)
]


class AuditLines:
    """The audit lines written so far, each the JSON object `LOG_FORMAT=json` prints."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._stream.getvalue().splitlines()]

    def take(self) -> list[dict[str, Any]]:
        """The lines written since the last `take`."""
        lines = self.all()
        self._stream.seek(0)
        self._stream.truncate()
        return lines


@pytest.fixture
def audit_lines() -> Iterator[AuditLines]:
    # Formatted as the record is written, inside the request: its correlation fields included.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(AUDIT_LOGGER)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield AuditLines(stream)
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def streamed_and_recorded(fake_tencent: FakeTencent) -> None:
    """A meeting `tester` created, streamed in two live rooms and recorded (3 files, password)."""
    fake_tencent.add_meeting(
        MEETING_ID, CODE, subject="Audit review", creator="tester", replays=REPLAYS
    )
    fake_tencent.add_recording(MEETING_ID, files=3, sharing=SHARING)


def share_value(messages: list[dict[str, Any]]) -> str:
    return str(
        next(
            el["value"]
            for m in messages
            for b in m["blocks"]
            if b["type"] == "actions"
            for el in b["elements"]
            if el.get("action_id") == "share_replays"
        )
    )


def assert_nothing_secret(line: dict[str, Any], fake_tencent: FakeTencent) -> None:
    text = json.dumps(line)
    assert "http" not in text and "meeting.tencent.com" not in text
    assert fake_tencent.sharing_url(MEETING_ID) not in text
    assert PASSWORD not in text


async def test_a_look_up_and_its_share_are_one_audit_line_each_with_counts_and_no_address(
    bot: RunningBot,
    fake_tencent: FakeTencent,
    streamed_and_recorded: None,
    audit_lines: AuditLines,
) -> None:
    await bot.ask("link tester")
    audit_lines.take()

    messages = await bot.ask(CODE, channel_id="C1")
    assert PASSWORD in str(messages), "the creator's own answer shows the password"

    (looked_up,) = audit_lines.take()
    assert looked_up["logger"] == AUDIT_LOGGER and looked_up["level"] == "INFO"
    expected = {
        "team": "T0001",
        "user": "U1",
        "channel": "C1",
        "meeting": CODE,
        "meeting_ids": MEETING_ID,
        "meetings": 1,
        "live_replays": 2,
        "recording_files": 3,
        "outcome": "ok",
    }
    assert {**looked_up, **expected} == looked_up
    assert looked_up["audit"] == "lookup" and looked_up["request_kind"] == "command"
    assert_nothing_secret(looked_up, fake_tencent)

    # Asked again: answered from memory inside the acknowledgement, and one line all the same.
    reply = await bot.command(CODE, channel_id="C1")
    await bot.idle()
    assert answered_in_ack(reply)
    (again,) = audit_lines.take()
    assert {**again, **expected} == again and again["audit"] == "lookup"

    shared = await bot.slack.block_action(
        "share_replays", share_value(messages), user_id="U1", channel_id="C1"
    )
    await bot.fake_slack.wait_for_response(shared.response_url)
    await bot.idle()

    (share,) = audit_lines.take()
    assert {**share, **expected} == share
    assert share["audit"] == "share" and share["request_kind"] == "block_actions"
    assert_nothing_secret(share, fake_tencent)


async def test_a_refused_look_up_says_why_and_whose_meeting_it_was(
    bot: RunningBot, streamed_and_recorded: None, audit_lines: AuditLines
) -> None:
    await bot.ask("link tester")
    await bot.ask("link other", user_id="U2")
    await bot.ask(CODE)  # the creator's look-up teaches the bot whose meeting it is
    audit_lines.take()

    await bot.ask(CODE, user_id="U2")

    (refused,) = audit_lines.take()
    assert refused["audit"] == "lookup" and refused["user"] == "U2"
    assert refused["meeting"] == CODE and refused["creator"] == "tester"
    assert (refused["meetings"], refused["live_replays"], refused["recording_files"]) == (0, 0, 0)
    assert refused["outcome"] == "only_creator"


async def test_link_changes_are_one_audit_line_each_with_their_outcome(
    bot: RunningBot, audit_lines: AuditLines
) -> None:
    await bot.ask("link tester")
    await bot.ask("link <@U2> other", user_id="U1")  # not an admin
    await bot.ask("link <@U2> other", user_id="UADMIN")
    await bot.ask("unlink")

    lines = audit_lines.take()
    assert [
        (line["audit"], line["user"], line["target"], line["tencent_userid"], line["outcome"])
        for line in lines
    ] == [
        ("link", "U1", "U1", "tester", "linked"),
        ("link", "U1", "U2", "other", "not_admin"),
        ("link", "UADMIN", "U2", "other", "linked"),
        ("unlink", "U1", "U1", "tester", "unlinked"),
    ]
    assert all(line["team"] == "T0001" and line["level"] == "INFO" for line in lines)


async def test_subscription_changes_are_one_audit_line_each_with_their_outcome(
    bot: RunningBot, streamed_and_recorded: None, audit_lines: AuditLines
) -> None:
    await bot.ask("link tester")
    audit_lines.take()

    await bot.ask(f"subscribe {CODE}", channel_id="C7")
    await bot.ask(f"subscribe {CODE}", channel_id="C7")
    await bot.ask("unsubscribe", channel_id="C7")
    await bot.ask("dm off")
    await bot.ask("visibility workspace")

    lines = audit_lines.take()
    assert [
        (line["audit"], line.get("channel"), line.get("meeting", ""), line["outcome"])
        for line in lines
    ] == [
        ("subscribe", "C7", CODE, "subscribed"),
        ("subscribe", "C7", CODE, "already_subscribed"),
        ("unsubscribe", "C7", "", "not_subscribed"),
        ("dm_digests", None, "", "off"),
        ("visibility", None, "", "workspace"),
    ]
    assert all((line["team"], line["user"]) == ("T0001", "U1") for line in lines)


async def test_a_mention_the_recent_list_and_app_home_are_one_audit_line_each(
    bot: RunningBot, fake_tencent: FakeTencent, audit_lines: AuditLines
) -> None:
    end = datetime.now(UTC) - timedelta(hours=3)
    fake_tencent.add_meeting(
        MEETING_ID,
        CODE,
        subject="Audit review",
        creator="tester",
        replays=REPLAYS,
        start=end - timedelta(hours=1),
        end=end,
    )
    await bot.ask("link tester")
    audit_lines.take()

    await bot.slack.app_mention(CODE, user_id="U1", channel="C5")
    await bot.fake_slack.wait_for_posts(1, channel="C5")
    await bot.idle()
    (mention,) = audit_lines.take()
    assert (mention["audit"], mention["request_kind"]) == ("lookup", "app_mention")
    assert (mention["user"], mention["channel"]) == ("U1", "C5")  # the thread's readers
    assert (mention["meeting"], mention["live_replays"], mention["outcome"]) == (CODE, 2, "ok")

    await bot.ask("recent")
    (listed,) = audit_lines.take()
    assert (listed["audit"], listed["user"], listed["outcome"]) == ("recent", "U1", "ok")
    shown = listed["meeting_ids"].split(",")
    assert MEETING_ID in shown and listed["meetings"] == len(shown)
    assert listed["live_replays"] >= 2

    await open_home(bot, "U1")
    (home,) = audit_lines.take()
    assert (home["audit"], home["request_kind"]) == ("recent", "app_home_opened")
    assert home["meeting_ids"] == listed["meeting_ids"]
    for line in (mention, listed, home):
        assert "http" not in json.dumps(line)
