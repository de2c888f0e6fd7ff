"""The caller's recent meetings as compact cards: for the answer to `/replays` (and
`/replays recent [days]`) and for App Home.

A compact card is one section (subject, when it ended, its code) whose accessory is the watch
button when the meeting has one thing to watch (a replay, or its recordings' sharing link),
followed by an actions block of watch buttons when it has more (25 at most; the line says how
many more there are and the command that lists them all): at most two blocks a meeting, so ten
meetings fit any message. Recordings still processing are said so; a recording
that is not shared has no button here (its card, `/replays <code>`, tells its creator what to do). Times are Slack
date tokens, which every reader sees in their own time zone.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.meetings import LiveReplay, Meeting
from bot.core.outcomes import LookupProblem
from bot.core.recent import RecentList, RecentMeeting
from bot.i18n import Locale, t
from bot.slack.render.block_kit import (
    BlockDict,
    Message,
    actions,
    context,
    number_watch_buttons,
    section,
    watch_button,
)
from bot.slack.render.cards import listed_names, numbered_name, replay_name, watch_label
from bot.slack.render.limits import MAX_ACTIONS_ELEMENTS, MAX_BLOCKS, MAX_SECTION_TEXT
from bot.slack.render.mrkdwn import (
    cut,
    escape_mrkdwn,
    fallback_text,
    is_linkable_url,
    one_line,
    slack_date,
)

_SUBJECT_LIMIT = 200
_MORE_LISTED = 10
_MORE_SUBJECT_LIMIT = 60


def when(moment: datetime | None) -> str:
    """A time as a Slack date token (shown in the reader's time zone), UTC text as fallback."""
    return "?" if moment is None else slack_date(moment)


def _failure_key(recent: RecentList) -> str:
    return "recent_busy" if recent.problem is LookupProblem.BUSY else "recent_failed"


def _linkable(replays: tuple[LiveReplay, ...]) -> list[LiveReplay]:
    return [r for r in replays if is_linkable_url(r.url.strip())]


def _recording_links(meeting: Meeting) -> list[str]:
    """The sharing links of the meeting's ready recordings, each once (all files share one)."""
    urls = (r.sharing.url.strip() for r in meeting.recordings if r.sharing is not None and r.files)
    return [url for url in dict.fromkeys(urls) if is_linkable_url(url)]


def compact_card(item: RecentMeeting, locale: Locale) -> list[BlockDict]:
    """One or two blocks: the meeting's line and its replays and recordings as buttons."""
    entry, meeting = item.entry, item.meeting
    subject = one_line(entry.subject or meeting.subject) or t("untitled_meeting", locale)
    facts = [
        f"*{cut(subject, _SUBJECT_LIMIT, escape=True)}*",
        t("recent_ended", locale, when=when(entry.end)),
    ]
    code = one_line(entry.code or meeting.code)
    if code:
        facts.append(t("card_code", locale, code=f"`{cut(code, 40, escape=True)}`"))
    if meeting.processing:
        facts.append(t("recording_processing_count", locale))
    replays = _linkable(meeting.live_replays)
    recordings = _recording_links(meeting)
    label = cut(subject, 40, escape=False)
    if len(replays) + len(recordings) <= 1:
        if replays:
            name = replay_name(replays[0], 1, locale)
            accessory = watch_button(
                t("watch_button", locale),
                replays[0].url.strip(),
                accessibility_label=watch_label(name, subject, locale),
            )
        elif recordings:
            accessory = _recording_button(recordings[0], None, label, locale)
        else:
            accessory = None
        return [section(cut(" · ".join(facts), MAX_SECTION_TEXT, escape=False), accessory)]
    buttons = [
        watch_button(
            numbered_name(r, n, locale),
            r.url.strip(),
            accessibility_label=watch_label(replay_name(r, n, locale), subject, locale),
        )
        for n, r in enumerate(replays, 1)
    ]
    several = len(recordings) > 1
    buttons += [
        _recording_button(url, n if several else None, label, locale)
        for n, url in enumerate(recordings, 1)
    ]
    reference = code or one_line(meeting.meeting_id)
    if len(buttons) > MAX_ACTIONS_ELEMENTS and reference:
        more = len(buttons) - MAX_ACTIONS_ELEMENTS
        facts.append(
            t("recent_more_replays", locale, count=more, code=cut(reference, 40, escape=True))
        )
    return [
        section(cut(" · ".join(facts), MAX_SECTION_TEXT, escape=False)),
        actions(buttons[:MAX_ACTIONS_ELEMENTS]),
    ]


def _recording_button(url: str, number: int | None, subject: str, locale: Locale) -> BlockDict:
    """The button of a recording's sharing link; numbered when the meeting has several."""
    if number is None:
        text = t("recording_watch_button", locale)
        spoken = t("recording_link_label", locale, subject=subject)
    else:
        text = t("recording_watch_button_n", locale, n=number)
        spoken = t("recording_link_label_n", locale, n=number, subject=subject)
    return watch_button(text, url, accessibility_label=spoken)


def recent_blocks(recent: RecentList, locale: Locale, *, room: int) -> list[BlockDict]:
    """The list in at most `room` blocks: header, the meetings, how many were looked at, the
    rest and what went wrong. Meetings that do not fit are counted with the rest."""
    if recent.problem is not None:
        return [section(t(_failure_key(recent), locale))]
    head = [section(t("recent_header", locale, days=recent.days))]
    looked = context(
        t("recent_looked_at", locale, ended=recent.ended, days=recent.days, shown=len(recent.shown))
    )
    tail_room = 3  # the looked-at line, the rest, the trouble
    cards: list[BlockDict] = []
    left_out = 0
    for item in recent.shown:
        card = compact_card(item, locale)
        if len(head) + len(cards) + len(card) + tail_room > room:
            left_out += 1
            continue
        cards += card
    blocks = [*head, *cards, looked]
    rest = len(recent.unchecked) + left_out
    if rest:
        listed = [
            f"{cut(one_line(m.subject) or t('untitled_meeting', locale), _MORE_SUBJECT_LIMIT, escape=True)}"
            f" (`{escape_mrkdwn(m.code)}`)"
            for m in recent.unchecked[:_MORE_LISTED]
            if m.code
        ]
        if len(recent.unchecked) > _MORE_LISTED:
            listed.append("…")
        more = t("recent_more", locale, count=rest, meetings=", ".join(listed) or "…")
        blocks.append(section(cut(more, MAX_SECTION_TEXT, escape=False)))
    if recent.incomplete is not None:
        blocks.append(section(":warning: " + t("recent_incomplete", locale)))
    return number_watch_buttons(blocks[:room])


def _spoken_line(item: RecentMeeting, locale: Locale) -> str:
    """A meeting of the list in the fallback `text`: its subject and what it has to watch."""
    meeting = item.meeting
    subject = escape_mrkdwn(one_line(item.entry.subject or meeting.subject)) or t(
        "untitled_meeting", locale
    )
    names = [replay_name(r, n, locale) for n, r in enumerate(meeting.live_replays, 1)]
    names += [
        t("recording_file_name", locale, n=n)
        for n in range(1, sum(len(r.files) for r in meeting.recordings) + 1)
    ]
    if not names:
        return subject
    return t("fallback_listed", locale, subject=subject, names=listed_names(names, locale, 300))


def render_recent(recent: RecentList, *, locale: Locale) -> list[Message]:
    """The answer to `/replays` and `/replays recent [days]`: one message, ending with the usage
    hint, since a bare `/replays` lands here and should still teach the rest of the grammar."""
    hint = context(t("recent_hint", locale))
    blocks = [*recent_blocks(recent, locale, room=MAX_BLOCKS - 1), hint]
    lines = [t("recent_header", locale, days=recent.days)]
    lines += [_spoken_line(item, locale) for item in recent.shown]
    if recent.problem is not None:
        lines = [t(_failure_key(recent), locale)]
    return [{"text": fallback_text(lines), "blocks": blocks}]
