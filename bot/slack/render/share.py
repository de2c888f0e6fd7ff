"""The "Share in channel" button: its value, which carries the look-up to repost, and its block.

The value is compact JSON naming the requester and the meeting references (`{"u": "U…", "r":
["c295150176", "i7567…"]}`), so that sharing needs no state on the server; it must fit in Slack's
2000-character button value. Whatever comes back in a click is checked again before use.

Once shared, the person's card is replaced by `render_share_done`, posted through the same
`response_url` as the shared cards: they take at most `SHARED_MAX_MESSAGES` of its five posts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from bot.core.meetings import MeetingRef
from bot.core.outcomes import LookupResult
from bot.core.parsing import ref_from_digits
from bot.i18n import Locale, t
from bot.slack.ids import SHARE_ACTION_ID
from bot.slack.render.block_kit import BlockDict, Message, action_button, actions, section
from bot.slack.render.limits import MAX_BUTTON_VALUE
from bot.slack.render.mrkdwn import SLACK_USER, cut, one_line

#: a `response_url` takes five posts: the shared cards, then the one replacing the person's card
SHARED_MAX_MESSAGES = 4


@dataclass(frozen=True, slots=True)
class ShareRequest:
    """What a "Share in channel" button asks: repost these meetings, as looked up by `requester`."""

    refs: tuple[MeetingRef, ...]
    requester: str


def share_value(refs: Sequence[MeetingRef], requester: str) -> str | None:
    """The button value for sharing `refs` (compact JSON), or None if it cannot fit in a button."""
    if not SLACK_USER.fullmatch(requester) or not refs:
        return None
    encoded = [("i" if ref.kind == "id" else "c") + ref.value for ref in dict.fromkeys(refs)]
    # orjson writes compact JSON, as json.dumps with separators=(",", ":"); all of it is ASCII here
    value = orjson.dumps({"u": requester, "r": encoded}).decode()
    return value if len(value) <= MAX_BUTTON_VALUE else None


def parse_share_value(value: str) -> ShareRequest | None:
    """The request a share button carries, or None for anything else (never raises)."""
    try:
        data = json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    requester, encoded = data.get("u"), data.get("r")
    if not isinstance(requester, str) or not SLACK_USER.fullmatch(requester):
        return None
    if not isinstance(encoded, list) or not encoded or len(encoded) > MAX_BUTTON_VALUE:
        return None
    refs: list[MeetingRef] = []
    for item in encoded:
        if not isinstance(item, str) or item[:1] not in ("c", "i"):
            return None
        ref = ref_from_digits(item[1:])
        if ref is None or ref.kind != ("id" if item[0] == "i" else "code"):
            return None
        refs.append(ref)
    return ShareRequest(tuple(dict.fromkeys(refs)), requester)


def share_footer(
    results: Sequence[LookupResult], requester: str | None, locale: Locale
) -> BlockDict | None:
    """The actions block with the share button for `results`, or None when there is nothing to
    share or the button value would not fit."""
    # Only meetings that were found are worth reposting; problems are the requester's business.
    refs = [result.ref for result in results if result.ok and result.meetings]
    value = share_value(refs, requester) if requester and refs else None
    if value is None:
        return None
    subjects = [
        one_line(meeting.subject) or t("untitled_meeting", locale)
        for result in results
        if result.ok
        for meeting in result.meetings
    ]
    named = t("list_separator", locale).join(dict.fromkeys(subjects))
    spoken = t("share_label", locale, subjects=cut(named, 45, escape=False))
    button = action_button(
        t("share_button", locale),
        action_id=SHARE_ACTION_ID,
        value=value,
        accessibility_label=spoken,
        style="primary",
    )
    return actions([button])


def render_share_done(locale: Locale) -> Message:
    """What the person's card becomes once its replays are shared: no button left to click."""
    text = t("share_done", locale)
    return {"text": text, "blocks": [section(text)]}
