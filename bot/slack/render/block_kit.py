"""The few Block Kit shapes the app sends (sections, contexts, headers, buttons, actions, a divider),
as the dicts Slack's API takes.

They are written out directly rather than built as `slack_sdk.models.blocks` objects only to be
turned into these dicts, which took most of the rendering time. Headers and button labels are cut
to Slack's limits here; other texts are cut by the callers, which know what the text is. The tests
check every message with `tests.fakes.block_kit`, written from Slack's documentation.

A "Watch replay" button is a link, but Slack still sends a `block_actions` event when it is
clicked: its action id matches `WATCH_ACTION_ID`, so that the app can acknowledge it.
"""

from __future__ import annotations

from typing import Any, Literal

from bot.slack.ids import WATCH_ACTION_PREFIX
from bot.slack.render.limits import MAX_BUTTON_TEXT, MAX_HEADER_TEXT
from bot.slack.render.mrkdwn import cut

Message = dict[str, Any]
BlockDict = dict[str, Any]

# Every watch button is made with the bare prefix; the pages number them, since action ids must be
# unique within a message and only the message knows how many there are.


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str, accessory: BlockDict | None = None) -> BlockDict:
    block: BlockDict = {"type": "section", "text": _mrkdwn(text)}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def context(*texts: str) -> BlockDict:
    return {"type": "context", "elements": [_mrkdwn(text) for text in texts]}


def header(text: str) -> BlockDict:
    return {"type": "header", "text": _plain(cut(text, MAX_HEADER_TEXT, escape=False))}


def _button(label: str) -> BlockDict:
    # `emoji`: a `:tada:` in a label shows as the emoji.
    return {"type": "button", "text": {**_plain(label), "emoji": True}}


def _spoken(button: BlockDict, accessibility_label: str) -> BlockDict:
    """`button` with what a screen reader says instead of its label: what it opens, of what
    (Slack allows 75 characters). Every button the app sends has one."""
    return {
        **button,
        "accessibility_label": cut(accessibility_label, MAX_BUTTON_TEXT, escape=False),
    }


def watch_button(label: str, url: str, *, accessibility_label: str) -> BlockDict:
    """A link button."""
    button = {
        **_button(cut(label, MAX_BUTTON_TEXT, escape=False)),
        "url": url,
        "action_id": WATCH_ACTION_PREFIX,
    }
    return _spoken(button, accessibility_label)


def action_button(
    label: str,
    *,
    action_id: str,
    value: str,
    accessibility_label: str,
    style: Literal["primary", "danger"] | None = None,
) -> BlockDict:
    """A button whose click Slack sends to the app (`action_id`, with `value`)."""
    button = {**_button(cut(label, MAX_BUTTON_TEXT, escape=False)), "action_id": action_id}
    button["value"] = value
    if style is not None:
        button["style"] = style
    return _spoken(button, accessibility_label)


def actions(buttons: list[BlockDict]) -> BlockDict:
    return {"type": "actions", "elements": buttons}


DIVIDER: BlockDict = {"type": "divider"}


def number_watch_buttons(blocks: list[BlockDict]) -> list[BlockDict]:
    """`blocks` with their watch buttons' action ids made unique within the message (or view):
    Slack refuses duplicates, and the same card's blocks may stand in several messages. Blocks
    and buttons that change are copied; the input is left as it was."""
    count = 0

    def numbered(element: BlockDict) -> BlockDict:
        nonlocal count
        if element.get("action_id") != WATCH_ACTION_PREFIX:
            return element
        count += 1
        return {**element, "action_id": f"{WATCH_ACTION_PREFIX}{count}"}

    result = []
    for block in blocks:
        if block.get("accessory"):
            block = {**block, "accessory": numbered(block["accessory"])}
        if block.get("type") == "actions":
            block = {**block, "elements": [numbered(element) for element in block["elements"]]}
        result.append(block)
    return result
