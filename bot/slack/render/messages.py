"""The messages the bot sends, one function each: look-up answers, shared cards, digests, notices.

Each returns dicts `{"text": fallback, "blocks": [...]}` ready for `chat.postMessage` or a
`response_url`, within Slack's limits whatever Tencent sent. This is the module the rest of the app
imports from; the button action ids are here too, for the listeners that answer the clicks.

Whoever renders a message says who reads it, since a recording's password and how to turn its
sharing on are only for its creator reading privately (`Reader`, `bot.slack.render.readers`):
`render_lookup(private=...)` (each result's creator is known from `LookupResult.owner`),
`render_digest(reader=...)`; `render_shared` is always for a channel.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.meetings import Meeting, MeetingRef
from bot.core.outcomes import LookupResult
from bot.core.parsing import MAX_REFS, Invalid
from bot.core.records import EndedMeeting
from bot.i18n import Locale, t
from bot.slack.render.block_kit import Message, section
from bot.slack.render.cards import (
    describe_ref,
    digest_intro,
    give_up_note,
    lookup_cards,
    meeting_card,
)
from bot.slack.render.digest_facts import facts_line
from bot.slack.render.limits import MAX_BLOCKS, MAX_FALLBACK_TEXT, MAX_SECTION_TEXT
from bot.slack.render.mrkdwn import cut, mention, split_mrkdwn
from bot.slack.render.pages import assemble
from bot.slack.render.readers import CHANNEL, CREATOR_PRIVATELY, Reader
from bot.slack.render.share import share_footer

__all__ = [
    "CHANNEL",
    "CREATOR_PRIVATELY",
    "Message",
    "Reader",
    "describe_ref",
    "lookup_ack_text",
    "render_digest",
    "render_digest_give_up",
    "render_invalid",
    "render_lookup",
    "render_shared",
    "render_text",
]


def lookup_ack_text(refs: Sequence[MeetingRef], locale: Locale) -> str:
    """The line shown at once while the replays of `refs` are looked up."""
    if len(refs) == 1:
        return t("ack_lookup_one", locale, ref=describe_ref(refs[0], locale))
    return t("ack_lookup_many", locale, count=len(refs))


def render_lookup(
    results: Sequence[LookupResult],
    *,
    locale: Locale,
    requester: str | None,
    shareable: bool,
    private: bool = False,
    max_messages: int = 5,
) -> list[Message]:
    """The answer to a look-up: a card per meeting, a notice per problem, and a "Share in
    channel" button when `shareable` and `requester` is known. `private`: the answer is read by
    the asker alone (an ephemeral answer, a DM), not posted to a channel or thread."""
    cards = lookup_cards(results, locale, private=private)
    return assemble(
        cards,
        locale=locale,
        fallback_lines=[card.fallback for card in cards],
        footer=share_footer(results, requester, locale) if shareable else None,
        max_messages=max_messages,
    )


def render_shared(
    results: Sequence[LookupResult], *, locale: Locale, shared_by: str, max_messages: int = 5
) -> list[Message]:
    """The same cards, posted for everyone in the channel, saying who shared them (so with no
    password and no player page, whoever shares)."""
    cards = lookup_cards(results, locale, private=False)
    shared = t("shared_by", locale, user=mention(shared_by))
    return assemble(
        cards,
        locale=locale,
        fallback_lines=[shared, *(card.fallback for card in cards)],
        context_line=shared,
        max_messages=max_messages,
    )


def render_digest(
    meeting: Meeting,
    *,
    locale: Locale,
    ended: EndedMeeting | None = None,
    creator_slack_id: str | None = None,
    reader: Reader = CHANNEL,
) -> list[Message]:
    """The replays and recordings of a meeting that ended, for `reader`: `CHANNEL` (the default)
    for a subscribed channel, `CREATOR_PRIVATELY` for the creator's DM. With `ended`, the intro
    also says when it ran, how long, whose it was and which occurrence."""
    card = meeting_card(meeting, locale, reader=reader)
    intro = digest_intro(meeting, locale)
    facts = facts_line(ended, creator_slack_id, locale) if ended is not None else None
    if facts:
        intro = f"{intro}\n{facts}"
    return assemble([card], locale=locale, fallback_lines=[card.fallback], intro=intro)


def render_digest_give_up(
    *, subject: str, meeting_code: str, waited_seconds: int, locale: Locale
) -> Message:
    """The note that no replay appeared for an ended meeting within the time the app waits."""
    return render_text(
        give_up_note(
            subject=subject, meeting_code=meeting_code, waited_seconds=waited_seconds, locale=locale
        )
    )


def render_invalid(command: Invalid, *, locale: Locale) -> Message:
    """What to say about text that could not be understood."""
    detail = cut(command.detail, 80, escape=True)
    return render_text(t(f"invalid_{command.problem}", locale, detail=detail, max=MAX_REFS))


def render_text(text: str) -> Message:
    """A plain notice. `text` is mrkdwn as it is: escape outside data first (`escape_mrkdwn`)."""
    chunks = split_mrkdwn(text, MAX_SECTION_TEXT) or ["…"]
    if len(chunks) > MAX_BLOCKS:
        chunks = [*chunks[: MAX_BLOCKS - 1], "…"]
    fallback = split_mrkdwn(text, MAX_FALLBACK_TEXT - 1)
    summary = (fallback[0] + ("…" if len(fallback) > 1 else "")) if fallback else "…"
    return {"text": summary, "blocks": [section(chunk) for chunk in chunks]}
