"""What a digest says about its meeting beside the replays: when it ran (in Slack's date
formatting, so that every reader sees their own time zone), how long, whose it was, and which
occurrence of a recurring meeting; also the short thread reply of an update (new replays, a cloud
recording ready), the line saying a cloud recording was removed, and the give-up note.
"""

from __future__ import annotations

from bot.core.records import EndedMeeting
from bot.i18n import Locale, format_duration, t
from bot.slack.render.block_kit import Message, section
from bot.slack.render.limits import MAX_HEADER_TEXT
from bot.slack.render.mrkdwn import cut, escape_mrkdwn, mention, one_line, slack_date

_NAME_LIMIT = 80
_UPDATE_NAMES_SHOWN = 10


def facts_line(meeting: EndedMeeting, creator_slack_id: str | None, locale: Locale) -> str | None:
    """The mrkdwn line of what is known about the meeting; None when nothing is."""
    facts: list[str] = []
    if meeting.start_time is not None:
        facts.append(t("digest_when", locale, date=slack_date(meeting.start_time)))
    if meeting.start_time and meeting.end_time and meeting.end_time > meeting.start_time:
        seconds = int((meeting.end_time - meeting.start_time).total_seconds())
        facts.append(t("digest_duration", locale, duration=format_duration(seconds, locale)))
    if creator_slack_id:
        facts.append(t("digest_host", locale, host=mention(creator_slack_id)))
    elif meeting.creator_name.strip():
        name = cut(one_line(meeting.creator_name), _NAME_LIMIT, escape=True)
        facts.append(t("digest_host", locale, host=name))
    if meeting.meeting_type == 1:
        occurrence = (
            slack_date(meeting.start_time)
            if meeting.start_time is not None
            else escape_mrkdwn(cut(one_line(meeting.sub_meeting_id), 40, escape=False))
        )
        facts.append(t("digest_recurring", locale, occurrence=occurrence))
    return "  ·  ".join(facts) if facts else None


def update_reply(
    subject: str, names: list[str], locale: Locale, *, recording_files: int = 0
) -> Message:
    """The one thread reply saying what an update added: which replays, and whether a cloud
    recording (of `recording_files` files) is ready."""
    title = cut(one_line(subject) or t("untitled_meeting", locale), MAX_HEADER_TEXT, escape=True)
    lines: list[str] = []
    if names:
        shown = [
            cut(one_line(name), _NAME_LIMIT, escape=True) for name in names[:_UPDATE_NAMES_SHOWN]
        ]
        if len(names) > _UPDATE_NAMES_SHOWN:
            shown.append("…")
        lines.append(
            t(
                "digest_update_reply",
                locale,
                count=len(names),
                subject=title,
                names=t("list_separator", locale).join(shown),
            )
        )
    if recording_files:
        lines.append(t("digest_recording_ready", locale, subject=title, count=recording_files))
    text = "\n".join(lines)
    return {"text": text, "blocks": [section(text)]}


def recording_removed_line(locale: Locale) -> str:
    """The line a digest message gets once its meeting's cloud recording was removed."""
    return t("digest_recording_removed", locale)


def gave_up_note(meeting: EndedMeeting, waited: float, locale: Locale) -> Message:
    """The DM to the creator of a meeting that went live but left no replay."""
    text = t(
        "digest_gave_up_live",
        locale,
        subject=cut(one_line(meeting.subject) or t("untitled_meeting", locale), 150, escape=True),
        code=cut(one_line(meeting.meeting_code), 40, escape=True),
        duration=format_duration(int(waited), locale),
    )
    return {"text": text, "blocks": [section(text)]}
