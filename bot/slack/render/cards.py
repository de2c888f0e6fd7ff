"""Look-up results and meetings as cards: what each meeting, replay or problem shows.

A meeting card is a header (the subject), a context line (code, ID, number of replays and of
recording files) and one section per replay with a "Watch replay" button; a meeting with cloud
recordings also has them (`bot.slack.render.recordings`), each kind under its label, for the
reader the card is rendered for (`bot.slack.render.readers`). A replay whose `url` Slack would refuse as a
button URL (not http(s), too long, odd characters) is still listed, with the link shown as text. A
problem, or a reference that found no meeting, is a one-section notice card. Cards are not yet
messages: `bot.slack.render.pages` packs them, and each card carries what the compact overflow
page shows for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.meetings import LiveReplay, Meeting, MeetingRef
from bot.core.outcomes import LookupResult, Owner
from bot.i18n import Locale, format_duration, t
from bot.slack.render.block_kit import context, header, section, watch_button
from bot.slack.render.card_items import Card, Item
from bot.slack.render.limits import MAX_HEADER_TEXT
from bot.slack.render.mrkdwn import cut, escape_mrkdwn, is_linkable_url, mention, one_line
from bot.slack.render.readers import CHANNEL, Reader
from bot.slack.render.recordings import PlayerPages, file_count, no_player_pages, recording_items

# Replay names and rooms are shown whole when reasonable; beyond these they are cut, so that one
# replay never crowds a message.
_REPLAY_NAME_LIMIT = 500
_ROOM_LIMIT = 100
_CODE_LIMIT = 40
_SHOWN_URL_LIMIT = 300
_OVERFLOW_TITLE_LIMIT = 300
# What a screen reader says for a button fits Slack's 75 characters with both names cut so.
_SPOKEN_NAME_LIMIT = 30
# The fallback `text` names every replay and recording file while they fit in this much; a card
# with more ends its list with how many more there are.
_FALLBACK_NAMES_LIMIT = 1000
_FALLBACK_NAME_LIMIT = 100


__all__ = ["Card", "Item", "describe_owner", "describe_ref", "lookup_cards", "meeting_card"]


def describe_ref(ref: MeetingRef, locale: Locale) -> str:
    """How a meeting reference is named in a sentence (mrkdwn, escaped)."""
    value = escape_mrkdwn(ref.value)
    if ref.kind == "id":
        return t("ref_id", locale, meeting_id=value)
    return t("ref_code", locale, code=value)


def replay_name(replay: LiveReplay, number: int, locale: Locale) -> str:
    """How a replay is called: its room's subject, else "Live replay n" (plain text)."""
    return one_line(replay.subject) or t("untitled_replay", locale, n=number)


def numbered_name(replay: LiveReplay, number: int, locale: Locale) -> str:
    """A replay's name on a button among others: numbered once ("2. Part two", "Live replay 2")."""
    subject = one_line(replay.subject)
    return f"{number}. {subject}" if subject else t("untitled_replay", locale, n=number)


def watch_label(name: str, subject: str, locale: Locale) -> str:
    """What a screen reader says for the button of replay `name` of meeting `subject`."""
    return t(
        "watch_label",
        locale,
        name=cut(name, _SPOKEN_NAME_LIMIT, escape=False),
        subject=cut(subject, _SPOKEN_NAME_LIMIT, escape=False),
    )


def listed_names(names: Sequence[str], locale: Locale, limit: int = _FALLBACK_NAMES_LIMIT) -> str:
    """`names` (plain text) escaped and joined for a fallback `text`, within about `limit`."""
    separator = t("list_separator", locale)
    shown: list[str] = []
    used = 0
    for name in names:
        piece = cut(name, _FALLBACK_NAME_LIMIT, escape=True)
        used += len(piece) + len(separator)
        if used > limit:
            return separator.join([*shown, f"… (+{len(names) - len(shown)})"])
        shown.append(piece)
    return separator.join(shown)


def _replay_item(replay: LiveReplay, number: int, subject: str, locale: Locale) -> Item:
    name = replay_name(replay, number, locale)
    lines = [f"*{cut(name, _REPLAY_NAME_LIMIT, escape=True)}*"]
    room = one_line(replay.room_id)
    if room:
        lines.append(t("live_room", locale, room=cut(room, _ROOM_LIMIT, escape=True)))
    url = replay.url.strip()
    button = None
    label = watch_label(name, subject, locale)
    if is_linkable_url(url):
        button = watch_button(t("watch_button", locale), url, accessibility_label=label)
    elif url:
        shown = cut(one_line(url), _SHOWN_URL_LIMIT, escape=True)
        lines.append(f"{t('replay_link_unusable', locale)} `{shown}`")
    else:
        lines.append(t("replay_link_missing", locale))
    return Item(
        section("\n".join(lines), button),
        url=url,
        name=numbered_name(replay, number, locale),
        label=label,
    )


def _replay_count(count: int, locale: Locale) -> str:
    return (
        t("replay_count_one", locale) if count == 1 else t("replay_count_many", locale, count=count)
    )


def describe_owner(owner: Owner) -> str:
    """A meeting's creator in a sentence: their Slack mention when linked, else their userid."""
    if owner.slack_user_id:
        return mention(owner.slack_user_id)
    return f"`{cut(one_line(owner.userid), _CODE_LIMIT, escape=True)}`"


def meeting_card(
    meeting: Meeting,
    locale: Locale,
    owner: Owner | None = None,
    *,
    reader: Reader = CHANNEL,
    players: PlayerPages = no_player_pages,
) -> Card:
    """The card of one meeting for `reader`: its subject, code, ID, every replay and every
    recording; whose meeting it is when it was looked up on its creator's behalf."""
    subject = one_line(meeting.subject) or t("untitled_meeting", locale)
    code = cut(one_line(meeting.code), _CODE_LIMIT, escape=True)
    meeting_id = cut(one_line(meeting.meeting_id), _CODE_LIMIT, escape=True)
    replays = meeting.live_replays
    names = [
        *([t("card_code", locale, code=f"`{code}`")] if code else []),
        *([t("card_id", locale, meeting_id=f"`{meeting_id}`")] if meeting_id else []),
    ]
    whose = [t("card_owner", locale, owner=describe_owner(owner))] if owner else []
    recorded = file_count(meeting, locale)
    # A meeting only recorded is not summed up as "0 replays".
    replayed = [_replay_count(len(replays), locale)] if replays or not recorded else []
    counts = [*replayed, *([recorded] if recorded else [])]
    facts = [*names, *counts, *whose]
    head = header(subject)
    items = [_replay_item(replay, n, subject, locale) for n, replay in enumerate(replays, 1)]
    if meeting.recordings:
        if items:
            items.insert(0, _label("kind_live_replays", locale))
        items += [
            _label("kind_recordings", locale),
            *recording_items(meeting, reader, locale, players),
        ]
    if not items:
        text = t("no_replays", locale)
        items = [Item(section(text), note=text)]
    short_subject = cut(subject, MAX_HEADER_TEXT, escape=True)
    watched = [replay_name(replay, n, locale) for n, replay in enumerate(replays, 1)]
    files = sum(len(recording.files) for recording in meeting.recordings)
    watched += [t("recording_file_name", locale, n=n) for n in range(1, files + 1)]
    return Card(
        head=[head, context(" · ".join(facts))],
        again=[head],
        title=" · ".join([f"*{cut(subject, _OVERFLOW_TITLE_LIMIT, escape=True)}*", *names, *whose]),
        items=items,
        fallback=t(
            "fallback_meeting_named" if watched else "fallback_meeting",
            locale,
            subject=short_subject,
            code=code or meeting_id,
            replays=t("list_separator", locale).join(counts),
            names=listed_names(watched, locale),
        ),
    )


def _label(key: str, locale: Locale) -> Item:
    """The line naming one kind of what a meeting has to watch."""
    text = t(key, locale)
    return Item(section(text), note=text)


def notice_card(text: str) -> Card:
    """A card that only says `text` (mrkdwn as it is)."""
    return Card(head=[], again=[], title="", items=[Item(section(text), note=text)], fallback=text)


def lookup_cards(
    results: Sequence[LookupResult], locale: Locale, *, private: bool = False
) -> list[Card]:
    """A card per meeting found and a notice per problem, in the order of `results`; `private`
    when one allowed person alone reads them (see `bot.slack.render.readers`)."""
    cards: list[Card] = []
    for result in results:
        ref = describe_ref(result.ref, locale)
        owner = describe_owner(result.owner) if result.owner else ""
        if result.problem is not None:
            notice = t(f"lookup_{result.problem}", locale, ref=ref, owner=owner)
            cards.append(notice_card(":warning: " + notice))
        elif not result.meetings:
            cards.append(notice_card(t("lookup_no_meeting", locale, ref=ref)))
        else:
            reader = Reader(private=private, creator=result.owner is None)
            cards.extend(
                meeting_card(m, locale, result.owner, reader=reader, players=result.player_page)
                for m in result.meetings
            )
    return cards


def digest_intro(meeting: Meeting, locale: Locale) -> str:
    """The line a digest opens with: the replays of this meeting are ready."""
    subject = one_line(meeting.subject) or t("untitled_meeting", locale)
    return t("digest_intro", locale, subject=cut(subject, MAX_HEADER_TEXT, escape=True))


def give_up_note(*, subject: str, meeting_code: str, waited_seconds: int, locale: Locale) -> str:
    """The note that no replay appeared for an ended meeting within the time the app waits."""
    return t(
        "digest_give_up",
        locale,
        subject=cut(one_line(subject) or t("untitled_meeting", locale), 150, escape=True),
        code=cut(one_line(meeting_code), _CODE_LIMIT, escape=True),
        duration=format_duration(waited_seconds, locale),
    )
