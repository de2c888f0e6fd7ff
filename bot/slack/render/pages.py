"""Cards packed into Slack messages of at most 50 blocks, and the compact page for what is left.

Cards follow one another, a divider between them; a card that does not fit continues in the next
message under its repeated header, and every message after the first starts with "(continued,
n/total)". When more than `max_messages` messages would be needed (a `response_url` takes 5
posts), the last message lists what remains compactly: per meeting one line, then its replays as
buttons, 25 per actions block. If even that cannot hold everything, it ends by saying how many
replays of how many meetings were left out: nothing disappears silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.i18n import Locale, t
from bot.slack.render.block_kit import (
    DIVIDER,
    BlockDict,
    Message,
    actions,
    context,
    number_watch_buttons,
    section,
    watch_button,
)
from bot.slack.render.card_items import Card
from bot.slack.render.limits import MAX_ACTIONS_ELEMENTS, MAX_BLOCKS, MAX_SECTION_TEXT
from bot.slack.render.mrkdwn import cut, fallback_text, is_linkable_url


@dataclass(slots=True)
class _Page:
    blocks: list[BlockDict] = field(default_factory=list)
    placed: list[tuple[int, int]] = field(default_factory=list)  # (card, item) shown here


def _paginate(cards: Sequence[Card], capacity: int) -> list[_Page]:
    pages = [_Page()]
    for card_index, card in enumerate(cards):
        page = pages[-1]
        lead = [DIVIDER, *card.head] if page.blocks else list(card.head)
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
    cards: Sequence[Card], rest: Sequence[tuple[int, int]], locale: Locale, capacity: int
) -> _Page:
    """The compact last message: what did not fit in the others (see the module docstring)."""
    by_card: dict[int, list[int]] = {}
    for card_index, item_index in rest:
        by_card.setdefault(card_index, []).append(item_index)
    blocks = [section(t("overflow_intro", locale))]
    budget = capacity - 1  # room for the "not shown" line
    left_replays = 0
    left_meetings = 0
    for card_index, item_indexes in by_card.items():
        card = cards[card_index]
        items = [card.items[i] for i in item_indexes]
        linkable = [
            (i, item)
            for i, item in zip(item_indexes, items, strict=True)
            if item.url is not None and is_linkable_url(item.url)
        ]
        unusable = sum(1 for item in items if item.watchable) - len(linkable)
        lines = [card.title] if card.title else []
        lines += [item.note for item in items if not item.watchable]
        if unusable:
            lines.append(t("overflow_unusable_links", locale, count=unusable))
        room = budget - len(blocks) - 1
        if room < (1 if linkable else 0):
            left_meetings += 1
            left_replays += sum(1 for item in items if item.watchable)
            continue
        blocks.append(section(cut("\n".join(lines), MAX_SECTION_TEXT, escape=False)))
        shown = linkable[: room * MAX_ACTIONS_ELEMENTS]
        for start in range(0, len(shown), MAX_ACTIONS_ELEMENTS):
            buttons = [
                watch_button(item.name, item.url, accessibility_label=item.label)
                for _, item in shown[start : start + MAX_ACTIONS_ELEMENTS]
                if item.url is not None
            ]
            blocks.append(actions(buttons))
        if len(shown) < len(linkable):
            left_meetings += 1
            left_replays += len(linkable) - len(shown)
    if left_replays or left_meetings:
        blocks.append(
            section(t("overflow_not_shown", locale, replays=left_replays, meetings=left_meetings))
        )
    return _Page(blocks=blocks)


def assemble(
    cards: Sequence[Card],
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
        pages = [_Page(blocks=[section(t("no_results", locale))])]
    messages: list[Message] = []
    for number, page in enumerate(pages, 1):
        continued = t("continued", locale, n=number, total=len(pages)) if number > 1 else None
        marks = [text for text in (context_line, continued) if text]
        blocks: list[BlockDict] = []
        if intro is not None and number == 1:
            blocks.append(section(intro))
        if marks:
            blocks.append(context(*marks))
        blocks += number_watch_buttons(page.blocks)
        if footer is not None and number == len(pages):
            blocks.append(footer)
        lines = [intro] if intro is not None else []
        messages.append(
            {"text": fallback_text([*lines, *fallback_lines], continued or ""), "blocks": blocks}
        )
    return messages
