"""The few Block Kit shapes the app sends (sections, contexts, headers, buttons, actions, a divider),
as the dicts Slack's API takes.

Headers and button labels are cut to Slack's limits here; other texts are cut by the callers, which
know what the text is. A "Watch replay" button is a link, but Slack still sends a `block_actions`
event when it is clicked: its action id matches `WATCH_ACTION_ID`, so the app can acknowledge it.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.slack.render.limits import MAX_BUTTON_TEXT, MAX_HEADER_TEXT
from bot.slack.render.mrkdwn import cut

Message = dict[str, Any]
BlockDict = dict[str, Any]

# Every watch button is made with the bare prefix; the pages number them, since action ids must be
# unique within a message and only the message knows how many there are.
WATCH_ACTION_PREFIX = "watch_replay_"
WATCH_ACTION_ID = re.compile(r"^watch_replay_\d+$")


def section(text: str, accessory: ButtonElement | None = None) -> BlockDict:
    return SectionBlock(text=MarkdownTextObject(text=text), accessory=accessory).to_dict()


def context(*texts: str) -> BlockDict:
    return ContextBlock(elements=[MarkdownTextObject(text=text) for text in texts]).to_dict()


def header(text: str) -> BlockDict:
    return HeaderBlock(
        text=PlainTextObject(text=cut(text, MAX_HEADER_TEXT, escape=False))
    ).to_dict()


def watch_button(label: str, url: str) -> ButtonElement:
    return ButtonElement(
        text=cut(label, MAX_BUTTON_TEXT, escape=False), url=url, action_id=WATCH_ACTION_PREFIX
    )


def primary_button(label: str, *, action_id: str, value: str) -> ButtonElement:
    return ButtonElement(text=label, action_id=action_id, value=value, style="primary")


def actions(buttons: list[ButtonElement]) -> BlockDict:
    return ActionsBlock(elements=buttons).to_dict()


DIVIDER: BlockDict = DividerBlock().to_dict()
