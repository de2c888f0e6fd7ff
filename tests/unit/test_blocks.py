"""Block Kit rendering: messages Slack accepts, every replay reachable, nothing injectable."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.outcomes import LookupProblem, LookupResult
from bot.core.parsing import Invalid, MeetingRef, Problem
from bot.i18n import LOCALES, Locale, t
from bot.meeting.models import LiveReplay, MeetingReplays
from bot.slack.render.messages import (
    SHARE_ACTION_ID,
    WATCH_ACTION_ID,
    lookup_ack_text,
    render_digest,
    render_digest_give_up,
    render_invalid,
    render_lookup,
    render_shared,
    render_text,
)
from bot.slack.render.mrkdwn import escape_mrkdwn
from bot.slack.render.share import ShareRequest, parse_share_value, share_value
from tests.fakes.block_kit import assert_valid_message, button_urls, iter_text_objects, mrkdwn_texts

CODE = MeetingRef("code", "295150176")
OTHER = MeetingRef("code", "806146667")
ID = MeetingRef("id", "7567173273889276131")


def replay(n: int, code: str = "295150176") -> LiveReplay:
    return LiveReplay(
        live_room_id=str(1000 + n),
        live_subject=f"Part {n}",
        video_url=f"https://meeting.tencent.com/l/replay{n}?code={code}&b={n}",
    )


def meeting(
    replays: int = 2, subject: str = "Weekly sync", code: str = "295150176"
) -> MeetingReplays:
    return MeetingReplays(
        meeting_id="7567173273889276131",
        meeting_code=code,
        subject=subject,
        live_replay_list=[replay(n, code) for n in range(1, replays + 1)],
    )


def found(m: MeetingReplays, ref: MeetingRef = CODE) -> LookupResult:
    return LookupResult(ref=ref, meetings=(m,))


def all_blocks(messages: list[dict]) -> list[dict]:
    return [block for message in messages for block in message["blocks"]]


def all_urls(messages: list[dict]) -> list[str]:
    return [url for message in messages for url in button_urls(message)]


def all_text(messages: list[dict]) -> str:
    return json.dumps(messages, ensure_ascii=False)


def share_buttons(messages: list[dict]) -> list[dict]:
    return [
        element
        for block in all_blocks(messages)
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == SHARE_ACTION_ID
    ]


def assert_valid(messages: list[dict]) -> None:
    assert messages
    for message in messages:
        assert_valid_message(message)
        assert 0 < len(message["text"]) <= 3000


def assert_inert(messages: list[dict], allowed: str = r"<@[UW][A-Z0-9]+>") -> None:
    """No Slack markup comes out of data: the only `<…>` are the ones the app means (mentions)."""
    for message in messages:
        for text in mrkdwn_texts(message):
            rest = re.sub(allowed, "", text)
            assert "<" not in rest and ">" not in rest, text
            assert not re.search(r"&(?!amp;|lt;|gt;)", rest), text


def not_shown(messages: list[dict]) -> int:
    """How many replays the last message says it could not show (in either language)."""
    text = all_text(messages[-1:])
    match = re.search(r"and (\d+) more replays|会议的 (\d+) 个回看无法", text)
    return int(match.group(1) or match.group(2)) if match else 0


# ---------------------------------------------------------------------------------------------
# cards


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
    messages = render_lookup(
        [LookupResult(ref=CODE, problem=problem)], locale=locale, requester="U1", shareable=True
    )
    assert_valid(messages)
    ref = t("ref_code", locale, code="295150176")
    assert t(f"lookup_{problem}", locale, ref=ref) in messages[0]["blocks"][0]["text"]["text"]
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


def test_subjects_cannot_mention_or_link() -> None:
    evil = "<!channel> *now* & <https://evil.example|click> <@U999> &lt;"
    m = MeetingReplays(
        meeting_id="1",
        meeting_code=evil,
        subject=evil,
        live_replay_list=[
            LiveReplay(live_room_id=evil, live_subject=evil, video_url="https://x.example/a"),
            LiveReplay(live_subject="x", video_url="javascript:<!here>"),
        ],
    )
    for messages in (
        render_lookup([found(m)], locale="en", requester="U1", shareable=True),
        render_shared([found(m)], locale="en", shared_by="U1"),
        render_digest(m, locale="en"),
        [render_digest_give_up(subject=evil, meeting_code=evil, waited_seconds=60, locale="en")],
    ):
        assert_valid(messages)
        assert_inert(messages)
        assert "&lt;!channel&gt;" in all_text(messages)


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
    m = MeetingReplays(meeting_id="1", live_replay_list=[LiveReplay(video_url=url)])
    [message] = render_lookup([found(m)], locale="en", requester="U1", shareable=False)
    assert_valid([message])
    assert_inert([message])
    assert button_urls(message) == []
    assert t("replay_link_unusable", "en") in message["blocks"][-1]["text"]["text"]


def test_a_missing_link_is_said() -> None:
    m = MeetingReplays(meeting_id="1", live_replay_list=[LiveReplay(video_url="")])
    [message] = render_lookup([found(m)], locale="en", requester="U1", shareable=False)
    assert t("replay_link_missing", "en") in message["blocks"][-1]["text"]["text"]


def test_a_link_of_exactly_3000_characters_is_a_button() -> None:
    url = "https://meeting.tencent.com/" + "a" * (3000 - len("https://meeting.tencent.com/"))
    m = MeetingReplays(meeting_id="1", live_replay_list=[LiveReplay(video_url=url)])
    [message] = render_lookup([found(m)], locale="en", requester="U1", shareable=False)
    assert_valid([message])
    assert button_urls(message) == [url]


# ---------------------------------------------------------------------------------------------
# splitting


def test_sixty_replays_fill_two_messages_and_all_are_reachable() -> None:
    m = meeting(60)
    messages = render_lookup([found(m)], locale="en", requester="U1", shareable=True)
    assert_valid(messages)
    assert len(messages) == 2
    assert all_urls(messages) == [r.video_url for r in m.live_replay_list]
    second = messages[1]["blocks"]
    assert second[0]["type"] == "context"
    assert second[0]["elements"][0]["text"] == "(continued, 2/2)"
    assert second[1] == {"type": "header", "text": {"type": "plain_text", "text": "Weekly sync"}}
    assert messages[1]["text"].startswith("(continued, 2/2)")
    assert len(share_buttons(messages)) == 1
    assert messages[1]["blocks"][-1]["elements"][0]["action_id"] == SHARE_ACTION_ID


def test_when_messages_run_out_the_last_one_lists_the_rest_compactly() -> None:
    meetings = [meeting(60, subject=f"M{n}", code=str(100_000_000 + n)) for n in range(10)]
    results = [found(m, MeetingRef("code", m.meeting_code)) for m in meetings]
    messages = render_lookup(results, locale="en", requester="U1", shareable=True)
    assert_valid(messages)
    assert len(messages) == 5
    assert messages[-1]["blocks"][0]["elements"][0]["text"] == "(continued, 5/5)"
    assert t("overflow_intro", "en") in all_text(messages[-1:])
    expected = [r.video_url for m in meetings for r in m.live_replay_list]
    assert sorted(all_urls(messages)) == sorted(expected)  # 600 replays, every one reachable
    assert not_shown(messages) == 0
    assert len(share_buttons(messages)) == 1


def test_what_cannot_fit_at_all_is_counted_not_dropped_silently() -> None:
    meetings = [meeting(100, subject=f"M{n}", code=str(100_000_000 + n)) for n in range(10)]
    results = [found(m, MeetingRef("code", m.meeting_code)) for m in meetings]
    messages = render_lookup(results, locale="en", requester="U1", shareable=False, max_messages=2)
    assert_valid(messages)
    assert len(messages) == 2
    reached = set(all_urls(messages))
    expected = {r.video_url for m in meetings for r in m.live_replay_list}
    assert reached <= expected
    assert not_shown(messages) == len(expected - reached) > 0


def test_a_single_message_budget_still_works() -> None:
    messages = render_lookup(
        [found(meeting(60))], locale="en", requester="U1", shareable=True, max_messages=1
    )
    assert_valid(messages)
    assert len(messages) == 1
    assert len(all_urls(messages)) == 60


# ---------------------------------------------------------------------------------------------
# sharing


def test_the_share_button_carries_the_found_refs_and_the_requester() -> None:
    results = [
        found(meeting(1)),
        LookupResult(ref=OTHER, problem=LookupProblem.NOT_CREATOR),
        LookupResult(ref=MeetingRef("code", "111222333")),
        found(meeting(1), ID),
    ]
    messages = render_lookup(results, locale="en", requester="U0ABC", shareable=True)
    [button] = share_buttons(messages)
    assert len(button["value"]) <= 2000
    assert parse_share_value(button["value"]) == ShareRequest(refs=(CODE, ID), requester="U0ABC")


@pytest.mark.parametrize(("requester", "shareable"), [("U1", False), (None, True)])
def test_no_share_button_without_permission_or_requester(
    requester: str | None, shareable: bool
) -> None:
    messages = render_lookup(
        [found(meeting(1))], locale="en", requester=requester, shareable=shareable
    )
    assert share_buttons(messages) == []


def test_a_shared_message_names_who_shared_it_and_has_no_share_button() -> None:
    messages = render_shared([found(meeting(60))], locale="en", shared_by="U0ABC")
    assert_valid(messages)
    assert share_buttons(messages) == []
    assert messages[0]["blocks"][0]["elements"][0]["text"] == "Shared by <@U0ABC>"
    assert [e["text"] for e in messages[1]["blocks"][0]["elements"]] == [
        "Shared by <@U0ABC>",
        "(continued, 2/2)",
    ]
    assert len(all_urls(messages)) == 60


def test_a_strange_shared_by_is_not_turned_into_markup() -> None:
    messages = render_shared([found(meeting(1))], locale="en", shared_by="<!channel>")
    assert_inert(messages, allowed=r"(?!)")


def test_share_values_round_trip() -> None:
    value = share_value([CODE, ID, CODE], "U1")
    assert value is not None
    assert parse_share_value(value) == ShareRequest(refs=(CODE, ID), requester="U1")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "null",
        "[]",
        "{}",
        '{"u":"U1"}',
        '{"u":"U1","r":[]}',
        '{"u":"U1","r":["c12"]}',
        '{"u":"U1","r":["x295150176"]}',
        '{"u":"U1","r":["i295150176"]}',
        '{"u":"U1","r":["c7567173273889276131"]}',
        '{"u":"U1","r":[295150176]}',
        '{"u":"<!channel>","r":["c295150176"]}',
        '{"u":1,"r":["c295150176"]}',
        "[" * 100_000,
    ],
)
def test_garbage_share_values_are_refused(value: str) -> None:
    assert parse_share_value(value) is None


@given(st.text())
def test_parse_share_value_never_raises(value: str) -> None:
    result = parse_share_value(value)
    assert result is None or isinstance(result, ShareRequest)


# ---------------------------------------------------------------------------------------------
# digests and notices


def test_a_digest_introduces_the_meeting() -> None:
    messages = render_digest(meeting(2, subject="Board <b>"), locale="en")
    assert_valid(messages)
    assert messages[0]["blocks"][0]["text"]["text"] == "Replays of *Board &lt;b&gt;* are ready."
    assert messages[0]["text"].startswith("Replays of *Board &lt;b&gt;* are ready.")
    assert len(all_urls(messages)) == 2
    assert share_buttons(messages) == []


def test_a_digest_of_sixty_replays() -> None:
    m = meeting(60)
    messages = render_digest(m, locale="zh")
    assert_valid(messages)
    assert all_urls(messages) == [r.video_url for r in m.live_replay_list]


def test_the_give_up_note() -> None:
    message = render_digest_give_up(
        subject="Weekly", meeting_code="295150176", waited_seconds=21600, locale="en"
    )
    assert_valid([message])
    assert message["text"].startswith("No live replay appeared for *Weekly* (295150176) within 6 h")


def test_render_text_splits_long_text_into_valid_sections() -> None:
    text = "\n".join(f"line {n} <@U1> &amp; more" for n in range(2000))
    message = render_text(text)
    assert_valid([message])
    sections = [b["text"]["text"] for b in message["blocks"]]
    assert all(len(s) <= 3000 for s in sections)
    assert all(s.count("<@U1>") == s.count("<@") for s in sections)  # no mention cut in half
    assert all(not re.search(r"&(?!amp;)", s) for s in sections)  # no entity cut in half


def test_render_text_never_cuts_inside_markup() -> None:
    text = "x" * 2990 + "<@U1234567>" + "y" * 100
    message = render_text(text)
    assert_valid([message])
    assert any("<@U1234567>" in b["text"]["text"] for b in message["blocks"])


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("problem", list(Problem))
def test_every_parse_problem_renders(problem: Problem, locale: Locale) -> None:
    message = render_invalid(Invalid(problem, "<!channel> & " + "x" * 500), locale=locale)
    assert_valid([message])
    assert_inert([message])


def test_lookup_ack_text() -> None:
    assert lookup_ack_text([CODE], "en") == "Looking up the replays of meeting 295150176…"
    assert lookup_ack_text([CODE, ID], "en") == "Looking up replays for 2 meetings…"


def test_escape_mrkdwn() -> None:
    assert escape_mrkdwn("<!here> & <@U1>") == "&lt;!here&gt; &amp; &lt;@U1&gt;"


# ---------------------------------------------------------------------------------------------
# properties over arbitrary Tencent data

_URL_CHARS = st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_GOOD_URLS = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}.example/{path}",
    st.sampled_from(["http", "https", "HTTPS"]),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20),
    st.text(_URL_CHARS, max_size=200),
)
_URLS = st.one_of(
    _GOOD_URLS,
    st.text(max_size=100),
    st.builds(lambda tail: "https://meeting.tencent.com/" + tail, st.text(max_size=50)),
    st.just("https://meeting.tencent.com/" + "a" * 2972),  # exactly 3000
    st.just("https://meeting.tencent.com/" + "a" * 2973),  # 3001
)
_TEXTS = st.one_of(
    st.text(max_size=300),
    st.text(max_size=5000),
    st.sampled_from(["", "<!channel>", "*bold*", "&amp;", "<https://x|y>", "\n\n", "🎉" * 200]),
)
_REPLAYS = st.builds(LiveReplay, live_room_id=_TEXTS, live_subject=_TEXTS, video_url=_URLS)
_MEETINGS = st.builds(
    MeetingReplays,
    meeting_id=st.text("0123456789", min_size=19, max_size=20),
    meeting_code=st.one_of(st.text("0123456789", min_size=9, max_size=12), _TEXTS),
    subject=_TEXTS,
    # Drawn size first: plain `st.lists` rarely goes past a dozen, and splitting needs 50+.
    live_replay_list=st.integers(0, 100).flatmap(
        lambda n: st.lists(_REPLAYS, min_size=n, max_size=n)
    ),
)
_PROBLEMS = st.one_of(st.none(), st.sampled_from(list(LookupProblem)))


def _good_url(url: str) -> bool:
    """A URL Slack takes on a button, per Slack's rules: http(s), a host, URL characters, ≤ 3000."""
    if len(url) > 3000 or not url.lower().startswith(("http://", "https://")):
        return False
    if any(not (33 <= ord(c) < 127) or c in '<>"{}|\\^`' for c in url):
        return False
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:
        return False


def _assert_reachable(messages: list[dict], meetings: list[MeetingReplays]) -> None:
    reached = set(all_urls(messages))
    expected = {r.video_url.strip() for m in meetings for r in m.live_replay_list}
    missing = {url for url in expected if _good_url(url)} - reached
    assert len(missing) <= not_shown(messages)
    assert reached <= expected


@given(
    st.lists(st.tuples(_MEETINGS, _PROBLEMS), min_size=1, max_size=3),
    st.sampled_from(LOCALES),
    st.booleans(),
    st.integers(1, 5),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_look_up_renders_valid_inert_reachable_messages(
    cases: list[tuple[MeetingReplays, LookupProblem | None]],
    locale: Locale,
    shareable: bool,
    max_messages: int,
) -> None:
    results = [
        LookupResult(ref=CODE, problem=problem) if problem else found(m) for m, problem in cases
    ]
    messages = render_lookup(
        results, locale=locale, requester="U1", shareable=shareable, max_messages=max_messages
    )
    assert_valid(messages)
    assert len(messages) <= max_messages
    assert_inert(messages)
    _assert_reachable(messages, [m for m, problem in cases if problem is None])
    for message in messages:
        headers = [o["text"] for o in iter_text_objects(message) if o["type"] == "plain_text"]
        assert all(len(h) <= 150 for h in headers)


@given(_MEETINGS, st.sampled_from(LOCALES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_digest_renders_valid_inert_messages_with_every_replay(
    m: MeetingReplays, locale: Locale
) -> None:
    messages = render_digest(m, locale=locale)
    assert_valid(messages)
    assert_inert(messages)
    _assert_reachable(messages, [m])
    assert not_shown(messages) == 0


# ---------------------------------------------------------------------------------------------
# the validator itself: it must refuse what Slack refuses, or the tests above prove nothing


def _button(action_id: str = "a", **extra: object) -> dict:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Go"},
        "action_id": action_id,
        **extra,
    }


def _sect(text: str = "hi") -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _msg(*blocks: dict) -> dict:
    return {"text": "x", "blocks": list(blocks)}


def _header_block(text: str, kind: str = "plain_text") -> dict:
    return {"type": "header", "text": {"type": kind, "text": text}}


def _actions(*elements: dict) -> dict:
    return {"type": "actions", "elements": list(elements)}


def _with(accessory: dict) -> dict:
    return {**_sect(), "accessory": accessory}


_LONG_BUTTON = {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}


@pytest.mark.parametrize(
    "message",
    [
        {"blocks": [_sect()]},  # no fallback text
        {"text": "", "blocks": []},
        _msg(*[_sect()] * 51),
        _msg(_sect("x" * 3001)),
        _msg(_sect("  ")),
        _msg({"type": "unknown"}),
        _msg(_header_block("x" * 151)),
        _msg(_header_block("x", kind="mrkdwn")),
        _msg({"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}),
        _msg(_actions(*[_button(str(n)) for n in range(26)])),
        _msg(_actions(_button("a"), _button("a"))),
        _msg(_with(_button("a")), _with(_button("a"))),
        _msg(_with(_button(url="javascript:x"))),
        _msg(_with(_button(url="https://x/" + "a" * 2991))),
        _msg(_with(_button(value="v" * 2001))),
        _msg(_with(_LONG_BUTTON)),
    ],
)
def test_the_validator_refuses_what_slack_refuses(message: dict) -> None:
    with pytest.raises(AssertionError):
        assert_valid_message(message)


def test_the_validator_accepts_a_plain_message_and_json_encoded_blocks() -> None:
    assert_valid_message({"text": "hello"})
    assert_valid_message({"text": "x", "blocks": json.dumps([_sect()])})
