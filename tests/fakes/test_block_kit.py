"""The Block Kit validator of the fake Slack: it must refuse what Slack refuses, or the rendering
tests prove nothing."""

from __future__ import annotations

import json

import pytest

from tests.fakes.block_kit import assert_valid_message


def _button(action_id: str = "a", **extra: object) -> dict:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Go"},
        "action_id": action_id,
        **extra,
    }


def _sect(text: str = "hi") -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _msg(*blocks: dict) -> dict:
    return {"text": "x", "blocks": list(blocks)}


def _header_block(text: str, kind: str = "plain_text") -> dict:
    return {"type": "header", "text": {"type": kind, "text": text}}


def _actions(*elements: dict) -> dict:
    return {"type": "actions", "elements": list(elements)}


def _with(accessory: dict) -> dict:
    return {**_sect(), "accessory": accessory}


_LONG_BUTTON = {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}


@pytest.mark.parametrize(
    "message",
    [
        {"blocks": [_sect()]},  # no fallback text
        {"text": "", "blocks": []},
        _msg(*[_sect()] * 51),
        _msg(_sect("x" * 3001)),
        _msg(_sect("  ")),
        _msg({"type": "unknown"}),
        _msg(_header_block("x" * 151)),
        _msg(_header_block("x", kind="mrkdwn")),
        _msg({"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}),
        _msg(_actions(*[_button(str(n)) for n in range(26)])),
        _msg(_actions(_button("a"), _button("a"))),
        _msg(_with(_button("a")), _with(_button("a"))),
        _msg(_with(_button(url="javascript:x"))),
        _msg(_with(_button(url="https://x/" + "a" * 2991))),
        _msg(_with(_button(value="v" * 2001))),
        _msg(_with(_button(accessibility_label="x" * 76))),
        _msg(_with(_button(accessibility_label=""))),
        _msg(_with(_LONG_BUTTON)),
    ],
)
def test_the_validator_refuses_what_slack_refuses(message: dict) -> None:
    with pytest.raises(AssertionError):
        assert_valid_message(message)


def test_the_validator_accepts_a_plain_message_and_json_encoded_blocks() -> None:
    assert_valid_message({"text": "hello"})
    assert_valid_message({"text": "x", "blocks": json.dumps([_sect()])})
