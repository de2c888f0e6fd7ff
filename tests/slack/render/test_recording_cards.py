"""Cards of cloud recordings: what each reader is shown, above all who sees the password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.meetings import (
    HistoryEntry,
    Meeting,
    Recording,
    RecordingFile,
    RecordingState,
    Sharing,
)
from bot.core.outcomes import LookupResult, Owner
from bot.core.recent import RecentMeeting
from bot.slack.render.messages import (
    CHANNEL,
    CREATOR_PRIVATELY,
    Reader,
    render_digest,
    render_lookup,
    render_shared,
)
from bot.slack.render.recent import compact_card
from tests.fakes.block_kit import iter_text_objects
from tests.slack.render.support import (
    CODE,
    all_blocks,
    all_text,
    all_urls,
    assert_valid,
    not_shown,
    replay,
)

PASSWORD = "8642"
SHARE_URL = "https://meeting.tencent.com/v2/cloud-record/share?id=abc&from=3"
PLAYER_URL = "https://meeting.tencent.com/user-center/meeting-record/info?id=f1"
START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
BOB = Owner("bob", "UBOB")


def files(count: int) -> tuple[RecordingFile, ...]:
    return tuple(
        RecordingFile(
            f"f{n}",
            start=START + timedelta(minutes=30 * (n - 1)),
            end=START + timedelta(minutes=30 * n),
            size_bytes=52_428_800,
        )
        for n in range(1, count + 1)
    )


def shared(password: str = PASSWORD, **conditions: bool) -> Sharing:
    return Sharing(SHARE_URL, password=password, expires=START + timedelta(days=7), **conditions)


def recorded(
    *, sharing: Sharing | None = None, count: int = 1, replays: int = 0, ready: bool = True
) -> Meeting:
    recording = Recording(
        "r1",
        RecordingState.READY if ready else RecordingState.PROCESSING,
        files=files(count) if ready else (),
        sharing=sharing,
        start=START,
    )
    return Meeting(
        "7567173273889276131",
        "295150176",
        "Weekly sync",
        live_replays=tuple(replay(n) for n in range(1, replays + 1)),
        recordings=(recording,),
    )


def lookup(
    meeting: Meeting, *, private: bool, owner: Owner | None = None, **kw: object
) -> list[dict]:
    result = LookupResult(ref=CODE, meetings=(meeting,), owner=owner, **kw)  # type: ignore[arg-type]
    messages = render_lookup([result], locale="en", requester="U1", shareable=True, private=private)
    assert_valid(messages)
    return messages


def test_the_creator_reading_privately_sees_the_link_the_conditions_and_the_password() -> None:
    meeting = recorded(sharing=shared(members_only=True, participants_only=True), count=2)
    messages = lookup(meeting, private=True)
    text = all_text(messages)
    assert SHARE_URL in all_urls(messages)
    assert f"password: `{PASSWORD}`" in text
    assert "only members of the enterprise may open it" in text
    assert "only the meeting's participants may open it" in text
    assert "open until <!date^" in text
    assert "*Cloud recordings*" in text
    assert "File 1 · starts <!date^1714554000" in text
    assert "30 min · 50.0 MB" in text
    assert "2 recording files" in text


@pytest.mark.parametrize(
    ("private", "owner"),
    [(True, BOB), (False, None), (False, BOB)],
    ids=["someone else privately", "creator in a thread", "someone else in a thread"],
)
def test_anyone_else_or_anywhere_public_is_told_password_protected(
    private: bool, owner: Owner | None
) -> None:
    messages = lookup(recorded(sharing=shared()), private=private, owner=owner)
    text = all_text(messages)
    assert PASSWORD not in text
    assert "password protected" in text
    assert SHARE_URL in all_urls(messages)


def test_the_shared_card_and_channel_digests_never_carry_the_password() -> None:
    meeting = recorded(sharing=shared())
    for messages in (
        render_shared([LookupResult(ref=CODE, meetings=(meeting,))], locale="en", shared_by="U1"),
        render_digest(meeting, locale="en"),
        render_digest(meeting, locale="zh", reader=CHANNEL),
        render_digest(meeting, locale="en", reader=Reader(private=True, creator=False)),
    ):
        assert_valid(messages)
        assert PASSWORD not in all_text(messages)
    creators_dm = render_digest(meeting, locale="en", reader=CREATOR_PRIVATELY)
    assert PASSWORD in all_text(creators_dm)


def test_sharing_off_tells_the_creator_how_to_share_and_gives_the_player_page() -> None:
    meeting = recorded(sharing=None, count=2)
    messages = lookup(meeting, private=True, player_pages=(("f1", PLAYER_URL),))
    text = all_text(messages)
    assert "sharing is off" in text and "*Share*" in text
    assert all_urls(messages) == [PLAYER_URL], "a player page only where one was fetched"


@pytest.mark.parametrize(("private", "owner"), [(True, BOB), (False, None)])
def test_sharing_off_tells_others_the_creator_has_not_shared_it(
    private: bool, owner: Owner | None
) -> None:
    meeting = recorded(sharing=None)
    messages = lookup(meeting, private=private, owner=owner, player_pages=(("f1", PLAYER_URL),))
    text = all_text(messages)
    assert "the creator has not shared this recording" in text
    assert "sharing is off" not in text
    assert PLAYER_URL not in all_urls(messages)


def test_a_recording_not_ready_says_processing() -> None:
    messages = lookup(recorded(ready=False), private=True)
    text = all_text(messages)
    assert "processing" in text
    assert "No replays" not in text and "no replays" not in text


def test_both_kinds_in_one_card_labelled_and_within_limits_with_sixty_of_each() -> None:
    meeting = recorded(sharing=shared(), count=60, replays=60)
    messages = lookup(meeting, private=False)
    assert len(messages) <= 5
    text = all_text(messages)
    assert "*Live replays*" in text and "*Cloud recordings*" in text
    urls = all_urls(messages)
    shown = len({u for u in urls if u != SHARE_URL}) + urls.count(SHARE_URL)
    assert replay(1).url in urls and SHARE_URL in urls
    assert shown + not_shown(messages) >= 120, "every replay and file is shown or counted"
    assert PASSWORD not in text


def test_new_buttons_have_accessibility_labels_and_the_text_names_the_meeting() -> None:
    messages = lookup(recorded(sharing=shared()), private=True)
    buttons = [
        b["accessory"]
        for b in all_blocks(messages)
        if b.get("accessory", {}).get("url") == SHARE_URL
    ]
    assert buttons
    assert all("Weekly sync" in b["accessibility_label"] for b in buttons)
    assert all(len(b["accessibility_label"]) <= 75 for b in buttons)
    assert "Weekly sync" in messages[0]["text"]
    assert not any("download" in obj["text"].lower() for obj in iter_text_objects(messages[0]))


def test_the_recent_list_has_the_recording_link_and_says_processing() -> None:
    entry = HistoryEntry("7567173273889276131", "295150176", "Weekly sync", end=START)
    [line] = compact_card(RecentMeeting(entry, recorded(sharing=shared())), "en")
    assert line["accessory"]["url"] == SHARE_URL
    assert line["accessory"]["accessibility_label"]
    assert PASSWORD not in str(line)
    [waiting] = compact_card(RecentMeeting(entry, recorded(ready=False)), "en")
    assert "recording processing" in waiting["text"]["text"]
