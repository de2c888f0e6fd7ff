"""Cards: what a meeting, a replay, a problem or a digest shows."""

from __future__ import annotations

import pytest

from bot.core.meetings import LiveReplay, Meeting, MeetingRef
from bot.core.outcomes import LookupProblem, LookupResult, Owner
from bot.i18n import LOCALES, Locale, t
from bot.slack.render.messages import (
    WATCH_ACTION_ID,
    render_digest,
    render_digest_give_up,
    render_lookup,
)
from tests.fakes.block_kit import button_urls
from tests.slack.render.support import (
    CODE,
    ID,
    OTHER,
    all_text,
    all_urls,
    assert_inert,
    assert_valid,
    found,
    meeting,
    share_buttons,
)


def test_a_meeting_card_shows_subject_code_id_and_a_button_per_replay() -> None:
    [message] = render_lookup([found(meeting(2))], locale="en", requester="U1", shareable=False)
    assert_valid([message])
    header, context, first, second = message["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Weekly sync"}}
    assert context["elements"][0]["text"] == (
        "Code `295150176` · ID `7567173273889276131` · 2 replays"
    )
    assert first["text"]["text"] == "*Part 1*\nLive room 1001"
    assert first["accessory"]["url"] == "https://meeting.tencent.com/l/replay1?code=295150176&b=1"
    assert first["accessory"]["text"]["text"] == "Watch replay"
    assert [first["accessory"]["action_id"], second["accessory"]["action_id"]] == [
        "watch_replay_1",
        "watch_replay_2",
    ]
    assert all(WATCH_ACTION_ID.match(b["accessory"]["action_id"]) for b in (first, second))
    assert "Weekly sync (295150176): 2 replays" in message["text"]


def test_chinese_cards() -> None:
    [message] = render_lookup([found(meeting(1))], locale="zh", requester="U1", shareable=True)
    assert_valid([message])
    text = all_text([message])
    assert "观看回看" in text and "分享到频道" in text and "会议号 `295150176`" in text


def test_a_meeting_without_replays_says_so() -> None:
    [message] = render_lookup([found(meeting(0))], locale="en", requester="U1", shareable=False)
    assert_valid([message])
    assert message["blocks"][-1]["text"]["text"] == t("no_replays", "en")
    assert button_urls(message) == []


def test_a_look_up_that_found_no_meeting_says_so() -> None:
    [message] = render_lookup([LookupResult(ref=ID)], locale="en", requester="U1", shareable=True)
    assert_valid([message])
    assert "meeting ID 7567173273889276131" in message["blocks"][0]["text"]["text"]
    assert share_buttons([message]) == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("problem", list(LookupProblem))
def test_each_problem_renders_its_message(problem: LookupProblem, locale: Locale) -> None:
    # The problems about someone else's meeting name its creator; the others ignore the owner.
    result = LookupResult(ref=CODE, problem=problem, owner=Owner("alice", "U9"))
    messages = render_lookup([result], locale=locale, requester="U1", shareable=True)
    assert_valid(messages)
    ref = t("ref_code", locale, code="295150176")
    expected = t(f"lookup_{problem}", locale, ref=ref, owner="<@U9>")
    assert expected in messages[0]["blocks"][0]["text"]["text"]
    assert share_buttons(messages) == []  # nothing found, nothing to share


def test_problems_and_meetings_mix_in_order() -> None:
    results = [
        found(meeting(1, subject="A")),
        LookupResult(ref=OTHER, problem=LookupProblem.NOT_CREATOR),
        found(meeting(1, subject="B", code="111222333"), MeetingRef("code", "111222333")),
    ]
    [message] = render_lookup(results, locale="en", requester="U1", shareable=False)
    assert_valid([message])
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds == [
        "header",
        "context",
        "section",
        "divider",
        "section",
        "divider",
        "header",
        "context",
        "section",
    ]
    assert "806146667" in message["blocks"][4]["text"]["text"]


def test_a_code_naming_several_meetings_gets_a_card_each() -> None:
    first, second = meeting(1, subject="Mon"), meeting(1, subject="Tue")
    [message] = render_lookup(
        [LookupResult(ref=CODE, meetings=(first, second))],
        locale="en",
        requester="U1",
        shareable=False,
    )
    headers = [b["text"]["text"] for b in message["blocks"] if b["type"] == "header"]
    assert headers == ["Mon", "Tue"]


def test_a_huge_subject_is_cut_with_an_ellipsis() -> None:
    messages = render_lookup(
        [found(meeting(1, subject="会" * 1000))], locale="en", requester="U1", shareable=False
    )
    assert_valid(messages)
    header = messages[0]["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…")


def test_an_empty_subject_gets_a_placeholder() -> None:
    messages = render_lookup(
        [found(meeting(1, subject=" \n "))], locale="en", requester="U1", shareable=False
    )
    assert_valid(messages)
    assert messages[0]["blocks"][0]["text"]["text"] == "Untitled meeting"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://meeting.tencent.com/x",
        "https://",
        "https://meeting.tencent.com/has space",
        "https://meeting.tencent.com/" + "a" * 3000,
        "https://meeting.tencent.com/<!channel>",
        "https://例子.测试/x",
    ],
)
def test_an_unusable_link_is_shown_as_text_not_as_a_button(url: str) -> None:
    m = Meeting(meeting_id="1", live_replays=(LiveReplay(url=url),))
    [message] = render_lookup([found(m)], locale="en", requester="U1", shareable=False)
    assert_valid([message])
    assert_inert([message])
    assert button_urls(message) == []
    assert t("replay_link_unusable", "en") in message["blocks"][-1]["text"]["text"]


def test_a_missing_link_is_said() -> None:
    m = Meeting(meeting_id="1", live_replays=(LiveReplay(url=""),))
    [message] = render_lookup([found(m)], locale="en", requester="U1", shareable=False)
    assert t("replay_link_missing", "en") in message["blocks"][-1]["text"]["text"]


def test_a_link_of_exactly_3000_characters_is_a_button() -> None:
    url = "https://meeting.tencent.com/" + "a" * (3000 - len("https://meeting.tencent.com/"))
    m = Meeting(meeting_id="1", live_replays=(LiveReplay(url=url),))
    [message] = render_lookup([found(m)], locale="en", requester="U1", shareable=False)
    assert_valid([message])
    assert button_urls(message) == [url]


def test_a_digest_introduces_the_meeting() -> None:
    messages = render_digest(meeting(2, subject="Board <b>"), locale="en")
    assert_valid(messages)
    assert messages[0]["blocks"][0]["text"]["text"] == "Replays of *Board &lt;b&gt;* are ready."
    assert messages[0]["text"].startswith("Replays of *Board &lt;b&gt;* are ready.")
    assert len(all_urls(messages)) == 2
    assert share_buttons(messages) == []


def test_the_give_up_note() -> None:
    message = render_digest_give_up(
        subject="Weekly", meeting_code="295150176", waited_seconds=21600, locale="en"
    )
    assert_valid([message])
    assert message["text"].startswith("No live replay appeared for *Weekly* (295150176) within 6 h")
