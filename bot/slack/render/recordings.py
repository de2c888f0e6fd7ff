"""A meeting's cloud recordings as card items: per recording, how it can be opened, then its files.

A ready recording is a section saying how to open it (the conditions of its sharing link, or that
sharing is off), then one section per file (start, length, size) with a button: the sharing link,
or, for the creator reading privately, Tencent's player page when one was fetched for that file. A
recording not ready yet is one "processing" section. What the reader may be told (the password,
how to turn sharing on) is decided by `bot.slack.render.readers.Reader`. Download addresses never
reach this module.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.meetings import Meeting, Recording, RecordingFile, RecordingState, Sharing
from bot.i18n import Locale, format_duration, t
from bot.slack.render.block_kit import section, watch_button
from bot.slack.render.card_items import Item
from bot.slack.render.limits import MAX_SECTION_TEXT
from bot.slack.render.mrkdwn import cut, is_linkable_url, one_line, slack_date
from bot.slack.render.readers import Reader

_PASSWORD_LIMIT = 64
_LABEL_SUBJECT_LIMIT = 30
_MEGABYTE = 1024 * 1024

#: a recording file's id → Tencent's player page fetched for it ("" when none was)
PlayerPages = Callable[[str], str]


def no_player_pages(_file_id: str) -> str:
    return ""


def file_count(meeting: Meeting, locale: Locale) -> str | None:
    """ "n recording files" (and "processing"), for a card's context line; None without any."""
    if not meeting.recordings:
        return None
    count = sum(len(r.files) for r in meeting.recordings)
    facts = []
    if count or not meeting.processing:
        key = "recording_file_count_one" if count == 1 else "recording_file_count_many"
        facts.append(t(key, locale, count=count))
    if meeting.processing:
        facts.append(t("recording_processing_count", locale))
    return " · ".join(facts)


def recording_items(
    meeting: Meeting, reader: Reader, locale: Locale, players: PlayerPages = no_player_pages
) -> list[Item]:
    """The items of every recording of `meeting`, numbered from 1, for `reader`."""
    subject = cut(
        one_line(meeting.subject) or t("untitled_meeting", locale),
        _LABEL_SUBJECT_LIMIT,
        escape=False,
    )
    items: list[Item] = []
    file_number = 0
    for number, recording in enumerate(meeting.recordings, 1):
        if recording.state is not RecordingState.READY:
            text = t("recording_processing", locale, n=number)
            items.append(Item(section(text), note=text))
            continue
        how = _how_to_open(recording, number, reader, locale)
        items.append(Item(section(cut(how, MAX_SECTION_TEXT, escape=False)), note=how))
        for file in recording.files:
            file_number += 1
            items.append(_file_item(file, file_number, recording, reader, subject, locale, players))
    return items


def _how_to_open(recording: Recording, number: int, reader: Reader, locale: Locale) -> str:
    sharing = recording.sharing
    if sharing is not None:
        return " · ".join(
            [t("recording_shared", locale, n=number), *_conditions(sharing, reader, locale)]
        )
    if reader.manages_sharing:
        return t("recording_sharing_off_creator", locale, n=number)
    return t("recording_not_shared", locale, n=number)


def _conditions(sharing: Sharing, reader: Reader, locale: Locale) -> list[str]:
    """What Tencent will ask of whoever opens the link."""
    conditions = []
    if sharing.members_only:
        conditions.append(t("recording_members_only", locale))
    if sharing.participants_only:
        conditions.append(t("recording_participants_only", locale))
    if sharing.password:
        if reader.sees_password:
            password = cut(one_line(sharing.password), _PASSWORD_LIMIT, escape=True)
            conditions.append(t("recording_password", locale, password=password))
        else:
            conditions.append(t("recording_password_protected", locale))
    if sharing.expires is not None:
        conditions.append(t("recording_until", locale, date=slack_date(sharing.expires)))
    else:
        conditions.append(t("recording_no_expiry", locale))
    return conditions


def _file_item(
    file: RecordingFile,
    number: int,
    recording: Recording,
    reader: Reader,
    subject: str,
    locale: Locale,
    players: PlayerPages,
) -> Item:
    text = t(
        "recording_file",
        locale,
        n=number,
        start=slack_date(file.start) if file.start else "?",
        length=_length(file, locale),
        size=_size(file.size_bytes, locale),
    )
    name = t("recording_file_name", locale, n=number)
    sharing = recording.sharing
    if sharing is not None and is_linkable_url(sharing.url):
        label = t("recording_watch_label", locale, n=number, subject=subject)
        button = watch_button(
            t("recording_watch_button", locale), sharing.url, accessibility_label=label
        )
        return Item(section(text, button), url=sharing.url, name=name, label=label)
    page = players(file.file_id).strip() if sharing is None and reader.manages_sharing else ""
    if page and is_linkable_url(page):
        label = t("recording_player_label", locale, n=number, subject=subject)
        button = watch_button(t("recording_player_button", locale), page, accessibility_label=label)
        return Item(section(text, button), url=page, name=name, label=label)
    return Item(section(text), note=text)


def _length(file: RecordingFile, locale: Locale) -> str:
    if file.start is None or file.end is None or file.end <= file.start:
        return t("recording_length_unknown", locale)
    return format_duration(int((file.end - file.start).total_seconds()), locale)


def _size(size_bytes: int, locale: Locale) -> str:
    if size_bytes >= _MEGABYTE:
        return t("recording_size_mb", locale, size=f"{size_bytes / _MEGABYTE:.1f}")
    return t("recording_size_kb", locale, size=max(1, round(size_bytes / 1024)))
