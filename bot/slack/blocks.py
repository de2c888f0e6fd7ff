"""Block Kit messages: look-up cards, shared cards, digests and plain notices.

Pure functions from results to messages, each a dict `{"text": fallback, "blocks": [...]}` ready for
`chat.postMessage` or a `response_url`. Whatever Tencent sends, every message keeps within Slack's
limits (the constants below):

- Text from Tencent or from people is escaped (`&`, `<`, `>`) wherever it lands in mrkdwn,
  including the fallback `text`, so a subject such as `<!channel>` cannot mention anyone or forge a
  link; it is cut to fit (with an ellipsis) and a header never exceeds 150 characters. Lengths
  are counted in UTF-16 code units, which is never less than the characters Slack counts.
- A replay whose `video_url` Slack would refuse as a button URL (not http(s), too long, odd
  characters) is still listed, with the link shown as text.
- A meeting card is a header (the subject), a context line (code, ID, number of replays) and one
  section per replay with a "Watch replay" button. Cards are packed into messages of at most 50
  blocks, a card that does not fit continuing in the next message under its repeated header; every
  message after the first starts with "(continued, n/total)".
- When more than `max_messages` messages would be needed (a `response_url` takes 5 posts), the last
  message lists what remains compactly: per meeting one line, then its replays as buttons, 25 per
  actions block. If even that cannot hold everything, it ends by saying how many replays of how
  many meetings were left out: nothing disappears silently.

Link buttons still send a `block_actions` event when clicked: their action ids match
`WATCH_ACTION_ID` (unique within a message) and the app only has to acknowledge them.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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

from bot.core.outcomes import LookupResult
from bot.core.parsing import MAX_REFS, Invalid, MeetingRef, ref_from_digits
from bot.i18n import Locale, format_duration, t
from bot.meeting.models import LiveReplay, MeetingReplays

Message = dict[str, Any]
BlockDict = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ACTIONS_ELEMENTS = 25
MAX_FALLBACK_TEXT = 3000

SHARE_ACTION_ID = "share_replays"
WATCH_ACTION_PREFIX = "watch_replay_"
WATCH_ACTION_ID = re.compile(r"^watch_replay_\d+$")

# Replay names and rooms are shown whole when reasonable; beyond these they are cut, so that one
# replay never crowds a message.
_REPLAY_NAME_LIMIT = 500
_ROOM_LIMIT = 100
_CODE_LIMIT = 40
_SHOWN_URL_LIMIT = 300
_OVERFLOW_TITLE_LIMIT = 300
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{1,32}")
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)


# ------------------------------------------------------------------------------------------------
# text


def escape_mrkdwn(text: str) -> str:
    """`text` made inert in mrkdwn: no mention, channel link, URL or entity can come out of it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int, *, escape: bool) -> str:
    """`text`, escaped for mrkdwn when `escape`, within `limit` UTF-16 units (an ellipsis if cut).

    Cutting before escaping would not bound the result (an `&` grows fivefold) and cutting after
    could split an entity, so the two go together, character by character.
    """
    rendered = escape_mrkdwn(text) if escape else text
    if _units(rendered) <= limit:
        return rendered
    pieces: list[str] = []
    used = 0
    for char in text:
        piece = escape_mrkdwn(char) if escape else char
        used += _units(piece)
        if used > limit - 1:
            break
        pieces.append(piece)
    return "".join(pieces) + "…"


# Control characters and line/paragraph/space separators; format characters such as the zero-width
# joiner stay, since emoji sequences need them.
_BREAKS = frozenset({"Cc", "Zl", "Zp", "Zs"})


def _one_line(text: str) -> str:
    """`text` with control characters and runs of whitespace folded into single spaces."""
    spaced = "".join(" " if unicodedata.category(c) in _BREAKS else c for c in text)
    return " ".join(spaced.split())


def _split_mrkdwn(text: str, limit: int) -> list[str]:
    """`text` in chunks within `limit`, cut at line breaks or spaces, never in `<…>` or `&…;`."""
    chunks: list[str] = []
    rest = text
    while _units(rest) > limit:
        fits = 0
        used = 0
        for char in rest:
            used += _units(char)
            if used > limit:
                break
            fits += 1
        head = rest[:fits]
        # Prefer a line break, then a space, in the second half of what fits.
        cut = max(head.rfind("\n"), head.rfind(" ") if head.rfind("\n") < fits // 2 else -1)
        if cut < fits // 2:
            cut = fits
        opened = head.rfind("<", 0, cut)
        if opened > 0 and opened > head.rfind(">", 0, cut):
            cut = opened
        amp = head.rfind("&", 0, cut)
        if amp > 0 and amp > cut - 8 and ";" not in head[amp:cut]:
            cut = amp
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()]


def _fallback(lines: Sequence[str], prefix: str = "") -> str:
    """Slack's notification text: whole lines while they fit, then an ellipsis."""
    text = prefix
    for line in lines:
        candidate = f"{text}\n{line}" if text else line
        if _units(candidate) > MAX_FALLBACK_TEXT - 1:
            return (text + "\n…") if text else _cut(line, MAX_FALLBACK_TEXT, escape=False)
        text = candidate
    return text or "…"


def is_linkable_url(url: str) -> bool:
    """Whether Slack takes `url` as a button URL: http(s), a host, URL characters only, ≤ 3000."""
    if len(url) > MAX_URL or not _URL.fullmatch(url):
        return False
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False


def describe_ref(ref: MeetingRef, locale: Locale) -> str:
    """How a meeting reference is named in a sentence (mrkdwn, escaped)."""
    value = escape_mrkdwn(ref.value)
    if ref.kind == "id":
        return t("ref_id", locale, meeting_id=value)
    return t("ref_code", locale, code=value)


def ack_text(refs: Sequence[MeetingRef], locale: Locale) -> str:
    """The line shown at once while the replays of `refs` are looked up."""
    if len(refs) == 1:
        return t("ack_lookup_one", locale, ref=describe_ref(refs[0], locale))
    return t("ack_lookup_many", locale, count=len(refs))


def _mention(user: str) -> str:
    return f"<@{user}>" if _SLACK_USER.fullmatch(user) else escape_mrkdwn(user)


# ------------------------------------------------------------------------------------------------
# blocks


def _section(text: str, accessory: ButtonElement | None = None) -> BlockDict:
    return SectionBlock(text=MarkdownTextObject(text=text), accessory=accessory).to_dict()


def _context(*texts: str) -> BlockDict:
    return ContextBlock(elements=[MarkdownTextObject(text=text) for text in texts]).to_dict()


def _header(text: str) -> BlockDict:
    return HeaderBlock(
        text=PlainTextObject(text=_cut(text, MAX_HEADER_TEXT, escape=False))
    ).to_dict()


def _watch_button(label: str, url: str) -> ButtonElement:
    # The number is set per message by `_number_buttons`, where uniqueness is known.
    return ButtonElement(
        text=_cut(label, MAX_BUTTON_TEXT, escape=False), url=url, action_id=WATCH_ACTION_PREFIX
    )


_DIVIDER: BlockDict = DividerBlock().to_dict()


def _number_buttons(blocks: list[BlockDict]) -> list[BlockDict]:
    """A copy of `blocks` whose watch buttons have action ids unique within the message."""
    numbered = copy.deepcopy(blocks)
    count = 0
    for block in numbered:
        elements: list[dict[str, Any]] = [block["accessory"]] if block.get("accessory") else []
        elements += block.get("elements", []) if block.get("type") == "actions" else []
        for element in elements:
            if element.get("action_id") == WATCH_ACTION_PREFIX:
                count += 1
                element["action_id"] = f"{WATCH_ACTION_PREFIX}{count}"
    return numbered


# ------------------------------------------------------------------------------------------------
# cards


@dataclass(slots=True)
class _Item:
    """One block of a card, and what the compact overflow shows for it."""

    block: BlockDict
    replay: LiveReplay | None = None
    name: str = ""  # plain label of the replay, for an overflow button
    note: str = ""  # mrkdwn line for the overflow when the item is not a replay


@dataclass(slots=True)
class _Card:
    head: list[BlockDict]  # header and context; empty for a problem
    again: list[BlockDict]  # what a continuation message repeats of the head
    title: str  # mrkdwn line naming the meeting in the overflow; empty for a problem
    items: list[_Item]
    fallback: str


def _replay_item(replay: LiveReplay, number: int, locale: Locale) -> _Item:
    name = _one_line(replay.live_subject) or t("untitled_replay", locale, n=number)
    lines = [f"*{_cut(name, _REPLAY_NAME_LIMIT, escape=True)}*"]
    room = _one_line(replay.live_room_id)
    if room:
        lines.append(t("live_room", locale, room=_cut(room, _ROOM_LIMIT, escape=True)))
    url = replay.video_url.strip()
    button = None
    if is_linkable_url(url):
        button = _watch_button(t("watch_button", locale), url)
    elif url:
        shown = _cut(_one_line(url), _SHOWN_URL_LIMIT, escape=True)
        lines.append(f"{t('replay_link_unusable', locale)} `{shown}`")
    else:
        lines.append(t("replay_link_missing", locale))
    return _Item(_section("\n".join(lines), button), replay=replay, name=name)


def _replay_count(count: int, locale: Locale) -> str:
    return (
        t("replay_count_one", locale) if count == 1 else t("replay_count_many", locale, count=count)
    )


def _meeting_card(meeting: MeetingReplays, locale: Locale) -> _Card:
    subject = _one_line(meeting.subject) or t("untitled_meeting", locale)
    code = _cut(_one_line(meeting.meeting_code), _CODE_LIMIT, escape=True)
    meeting_id = _cut(_one_line(meeting.meeting_id), _CODE_LIMIT, escape=True)
    replays = meeting.live_replay_list
    facts = [
        *([t("card_code", locale, code=f"`{code}`")] if code else []),
        *([t("card_id", locale, meeting_id=f"`{meeting_id}`")] if meeting_id else []),
        _replay_count(len(replays), locale),
    ]
    header = _header(subject)
    items = [_replay_item(replay, n, locale) for n, replay in enumerate(replays, 1)]
    if not items:
        text = t("no_replays", locale)
        items = [_Item(_section(text), note=text)]
    short_subject = _cut(subject, MAX_HEADER_TEXT, escape=True)
    return _Card(
        head=[header, _context(" · ".join(facts))],
        again=[header],
        title=" · ".join([f"*{_cut(subject, _OVERFLOW_TITLE_LIMIT, escape=True)}*", *facts[:-1]]),
        items=items,
        fallback=t(
            "fallback_meeting",
            locale,
            subject=short_subject,
            code=code or meeting_id,
            replays=_replay_count(len(replays), locale),
        ),
    )


def _notice_card(text: str) -> _Card:
    return _Card(
        head=[], again=[], title="", items=[_Item(_section(text), note=text)], fallback=text
    )


def _cards(results: Sequence[LookupResult], locale: Locale) -> list[_Card]:
    cards: list[_Card] = []
    for result in results:
        ref = describe_ref(result.ref, locale)
        if result.problem is not None:
            cards.append(
                _notice_card(":warning: " + t(f"lookup_{result.problem}", locale, ref=ref))
            )
        elif not result.meetings:
            cards.append(_notice_card(t("lookup_no_meeting", locale, ref=ref)))
        else:
            cards.extend(_meeting_card(meeting, locale) for meeting in result.meetings)
    return cards


# ------------------------------------------------------------------------------------------------
# packing cards into messages


@dataclass(slots=True)
class _Page:
    blocks: list[BlockDict] = field(default_factory=list)
    placed: list[tuple[int, int]] = field(default_factory=list)  # (card, item) shown here


def _paginate(cards: Sequence[_Card], capacity: int) -> list[_Page]:
    pages = [_Page()]
    for card_index, card in enumerate(cards):
        page = pages[-1]
        lead = [_DIVIDER, *card.head] if page.blocks else list(card.head)
        if page.blocks and len(page.blocks) + len(lead) + 1 > capacity:
            page = _Page()
            pages.append(page)
            lead = list(card.head)
        page.blocks += lead
        for item_index, item in enumerate(card.items):
            if len(page.blocks) + 1 > capacity:
                page = _Page(blocks=list(card.again))
                pages.append(page)
            page.blocks.append(item.block)
            page.placed.append((card_index, item_index))
    return [page for page in pages if page.blocks]


def _overflow_page(
    cards: Sequence[_Card], rest: Sequence[tuple[int, int]], locale: Locale, capacity: int
) -> _Page:
    """The compact last message: what did not fit in the others (see the module docstring)."""
    by_card: dict[int, list[int]] = {}
    for card_index, item_index in rest:
        by_card.setdefault(card_index, []).append(item_index)
    blocks = [_section(t("overflow_intro", locale))]
    budget = capacity - 1  # room for the "not shown" line
    left_replays = 0
    left_meetings = 0
    for card_index, item_indexes in by_card.items():
        card = cards[card_index]
        items = [card.items[i] for i in item_indexes]
        linkable = [
            (i, item)
            for i, item in zip(item_indexes, items, strict=True)
            if item.replay is not None and is_linkable_url(item.replay.video_url.strip())
        ]
        unusable = sum(1 for item in items if item.replay is not None) - len(linkable)
        lines = [card.title] if card.title else []
        lines += [item.note for item in items if item.replay is None]
        if unusable:
            lines.append(t("overflow_unusable_links", locale, count=unusable))
        room = budget - len(blocks) - 1
        if room < (1 if linkable else 0):
            left_meetings += 1
            left_replays += sum(1 for item in items if item.replay is not None)
            continue
        blocks.append(_section(_cut("\n".join(lines), MAX_SECTION_TEXT, escape=False)))
        shown = linkable[: room * MAX_ACTIONS_ELEMENTS]
        for start in range(0, len(shown), MAX_ACTIONS_ELEMENTS):
            buttons = [
                _watch_button(f"{i + 1}. {item.name}", item.replay.video_url.strip())
                for i, item in shown[start : start + MAX_ACTIONS_ELEMENTS]
                if item.replay is not None
            ]
            blocks.append(ActionsBlock(elements=buttons).to_dict())
        if len(shown) < len(linkable):
            left_meetings += 1
            left_replays += len(linkable) - len(shown)
    if left_replays or left_meetings:
        blocks.append(
            _section(t("overflow_not_shown", locale, replays=left_replays, meetings=left_meetings))
        )
    return _Page(blocks=blocks)


def _assemble(
    cards: Sequence[_Card],
    *,
    locale: Locale,
    fallback_lines: Sequence[str],
    intro: str | None = None,
    context_line: str | None = None,
    footer: BlockDict | None = None,
    max_messages: int | None = None,
) -> list[Message]:
    """Cards packed into messages, with an intro on the first, a context line and the continuation
    mark on each, and the footer (the share button) on the last."""
    top = int(intro is not None) + int(context_line is not None)
    capacity = MAX_BLOCKS - max(top, 1) - int(footer is not None)
    pages = _paginate(cards, capacity)
    if max_messages is not None and len(pages) > max(max_messages, 1):
        kept = pages[: max(max_messages, 1) - 1]
        placed = {spot for page in kept for spot in page.placed}
        rest = [
            (c, i)
            for c, card in enumerate(cards)
            for i in range(len(card.items))
            if (c, i) not in placed
        ]
        pages = [*kept, _overflow_page(cards, rest, locale, capacity)]
    if not pages:
        pages = [_Page(blocks=[_section(t("no_results", locale))])]
    messages: list[Message] = []
    for number, page in enumerate(pages, 1):
        continued = t("continued", locale, n=number, total=len(pages)) if number > 1 else None
        marks = [text for text in (context_line, continued) if text]
        blocks: list[BlockDict] = []
        if intro is not None and number == 1:
            blocks.append(_section(intro))
        if marks:
            blocks.append(_context(*marks))
        blocks += _number_buttons(page.blocks)
        if footer is not None and number == len(pages):
            blocks.append(footer)
        lines = [intro] if intro is not None else []
        messages.append(
            {"text": _fallback([*lines, *fallback_lines], continued or ""), "blocks": blocks}
        )
    return messages


# ------------------------------------------------------------------------------------------------
# sharing


@dataclass(frozen=True, slots=True)
class ShareRequest:
    """What a "Share in channel" button asks: repost these meetings, as looked up by `requester`."""

    refs: tuple[MeetingRef, ...]
    requester: str


def share_value(refs: Sequence[MeetingRef], requester: str) -> str | None:
    """The button value for sharing `refs` (compact JSON), or None if it cannot fit in a button."""
    if not _SLACK_USER.fullmatch(requester) or not refs:
        return None
    encoded = [("i" if ref.kind == "id" else "c") + ref.value for ref in dict.fromkeys(refs)]
    value = json.dumps({"u": requester, "r": encoded}, separators=(",", ":"))
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
    if not isinstance(requester, str) or not _SLACK_USER.fullmatch(requester):
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


def _share_footer(
    results: Sequence[LookupResult], requester: str | None, locale: Locale
) -> BlockDict | None:
    # Only meetings that were found are worth reposting; problems are the requester's business.
    refs = [result.ref for result in results if result.ok and result.meetings]
    value = share_value(refs, requester) if requester and refs else None
    if value is None:
        return None
    button = ButtonElement(
        text=t("share_button", locale), action_id=SHARE_ACTION_ID, value=value, style="primary"
    )
    return ActionsBlock(elements=[button]).to_dict()


# ------------------------------------------------------------------------------------------------
# public renderers


def render_lookup(
    results: Sequence[LookupResult],
    *,
    locale: Locale,
    requester: str | None,
    shareable: bool,
    max_messages: int = 5,
) -> list[Message]:
    """The (ephemeral) answer to a look-up: a card per meeting, a notice per problem, and a
    "Share in channel" button when `shareable` and `requester` is known."""
    cards = _cards(results, locale)
    return _assemble(
        cards,
        locale=locale,
        fallback_lines=[card.fallback for card in cards],
        footer=_share_footer(results, requester, locale) if shareable else None,
        max_messages=max_messages,
    )


def render_shared(
    results: Sequence[LookupResult], *, locale: Locale, shared_by: str, max_messages: int = 5
) -> list[Message]:
    """The same cards, posted for everyone in the channel, saying who shared them."""
    cards = _cards(results, locale)
    shared = t("shared_by", locale, user=_mention(shared_by))
    return _assemble(
        cards,
        locale=locale,
        fallback_lines=[shared, *(card.fallback for card in cards)],
        context_line=shared,
        max_messages=max_messages,
    )


def render_digest(meeting: MeetingReplays, *, locale: Locale) -> list[Message]:
    """The replays of a meeting that ended, for a subscribed channel or the creator's DM."""
    subject = _one_line(meeting.subject) or t("untitled_meeting", locale)
    intro = t("digest_intro", locale, subject=_cut(subject, MAX_HEADER_TEXT, escape=True))
    card = _meeting_card(meeting, locale)
    return _assemble([card], locale=locale, fallback_lines=[card.fallback], intro=intro)


def render_digest_give_up(
    *, subject: str, meeting_code: str, waited_seconds: int, locale: Locale
) -> Message:
    """The note that no replay appeared for an ended meeting within the time the app waits."""
    text = t(
        "digest_give_up",
        locale,
        subject=_cut(_one_line(subject) or t("untitled_meeting", locale), 150, escape=True),
        code=_cut(_one_line(meeting_code), _CODE_LIMIT, escape=True),
        duration=format_duration(waited_seconds, locale),
    )
    return render_text(text)


def render_invalid(command: Invalid, *, locale: Locale) -> Message:
    """What to say about text that could not be understood."""
    detail = _cut(command.detail, 80, escape=True)
    return render_text(t(f"invalid_{command.problem}", locale, detail=detail, max=MAX_REFS))


def render_text(text: str) -> Message:
    """A plain notice. `text` is mrkdwn as it is: escape outside data first (`escape_mrkdwn`)."""
    chunks = _split_mrkdwn(text, MAX_SECTION_TEXT) or ["…"]
    if len(chunks) > MAX_BLOCKS:
        chunks = [*chunks[: MAX_BLOCKS - 1], "…"]
    fallback = _split_mrkdwn(text, MAX_FALLBACK_TEXT - 1)
    summary = (fallback[0] + ("…" if len(fallback) > 1 else "")) if fallback else "…"
    return {"text": summary, "blocks": [_section(chunk) for chunk in chunks]}
