"""Meetings, look-up results and checks shared by the rendering tests."""

from __future__ import annotations

import json
import re

from bot.core.meetings import LiveReplay, Meeting, MeetingRef
from bot.core.outcomes import LookupResult
from bot.slack.render.messages import SHARE_ACTION_ID
from tests.fakes.block_kit import assert_valid_message, button_urls, mrkdwn_texts

CODE = MeetingRef("code", "295150176")
OTHER = MeetingRef("code", "806146667")
ID = MeetingRef("id", "7567173273889276131")


def replay(n: int, code: str = "295150176") -> LiveReplay:
    return LiveReplay(
        room_id=str(1000 + n),
        subject=f"Part {n}",
        url=f"https://meeting.tencent.com/l/replay{n}?code={code}&b={n}",
    )


def meeting(replays: int = 2, subject: str = "Weekly sync", code: str = "295150176") -> Meeting:
    return Meeting(
        meeting_id="7567173273889276131",
        code=code,
        subject=subject,
        live_replays=tuple(replay(n, code) for n in range(1, replays + 1)),
    )


def found(m: Meeting, ref: MeetingRef = CODE) -> LookupResult:
    return LookupResult(ref=ref, meetings=(m,))


def all_blocks(messages: list[dict]) -> list[dict]:
    return [block for message in messages for block in message["blocks"]]


def all_urls(messages: list[dict]) -> list[str]:
    return [url for message in messages for url in button_urls(message)]


def all_text(messages: list[dict]) -> str:
    return json.dumps(messages, ensure_ascii=False)


def share_buttons(messages: list[dict]) -> list[dict]:
    return [
        element
        for block in all_blocks(messages)
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == SHARE_ACTION_ID
    ]


def assert_valid(messages: list[dict]) -> None:
    assert messages
    for message in messages:
        assert_valid_message(message)
        assert 0 < len(message["text"]) <= 3000


def assert_inert(messages: list[dict], allowed: str = r"<@[UW][A-Z0-9]+>") -> None:
    """No Slack markup comes out of data: the only `<…>` are the ones the app means (mentions)."""
    for message in messages:
        for text in mrkdwn_texts(message):
            rest = re.sub(allowed, "", text)
            assert "<" not in rest and ">" not in rest, text
            assert not re.search(r"&(?!amp;|lt;|gt;)", rest), text


def not_shown(messages: list[dict]) -> int:
    """How many replays the last message says it could not show (in either language)."""
    text = all_text(messages[-1:])
    match = re.search(r"and (\d+) more replays|会议的 (\d+) 个回看无法", text)
    return int(match.group(1) or match.group(2)) if match else 0
