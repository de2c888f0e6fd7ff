"""The entry points as a whole: valid, inert messages with every replay reachable, for any data."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.meetings import LiveReplay, Meeting
from bot.core.outcomes import LookupProblem, LookupResult
from bot.core.parsing import Invalid, Problem
from bot.i18n import LOCALES, Locale
from bot.slack.render.messages import (
    lookup_ack_text,
    render_digest,
    render_invalid,
    render_lookup,
    render_shared,
)
from tests.fakes.block_kit import iter_text_objects
from tests.slack.render.support import (
    CODE,
    ID,
    all_urls,
    assert_inert,
    assert_valid,
    found,
    meeting,
    not_shown,
    share_buttons,
)


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


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("problem", list(Problem))
def test_every_parse_problem_renders(problem: Problem, locale: Locale) -> None:
    message = render_invalid(Invalid(problem, "<!channel> & " + "x" * 500), locale=locale)
    assert_valid([message])
    assert_inert([message])


def test_lookup_ack_text() -> None:
    assert lookup_ack_text([CODE], "en") == "Looking up the replays of meeting 295150176…"
    assert lookup_ack_text([CODE, ID], "en") == "Looking up replays for 2 meetings…"


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
_REPLAYS = st.builds(LiveReplay, room_id=_TEXTS, subject=_TEXTS, url=_URLS)
_MEETINGS = st.builds(
    Meeting,
    meeting_id=st.text("0123456789", min_size=19, max_size=20),
    code=st.one_of(st.text("0123456789", min_size=9, max_size=12), _TEXTS),
    subject=_TEXTS,
    # Drawn size first: plain `st.lists` rarely goes past a dozen, and splitting needs 50+.
    live_replays=st.integers(0, 100).flatmap(
        lambda n: st.lists(_REPLAYS, min_size=n, max_size=n).map(tuple)
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


def _assert_reachable(messages: list[dict], meetings: list[Meeting]) -> None:
    reached = set(all_urls(messages))
    expected = {r.url.strip() for m in meetings for r in m.live_replays}
    missing = {url for url in expected if _good_url(url)} - reached
    assert len(missing) <= not_shown(messages)
    assert reached <= expected


@pytest.mark.slow
@given(
    st.lists(st.tuples(_MEETINGS, _PROBLEMS), min_size=1, max_size=3),
    st.sampled_from(LOCALES),
    st.booleans(),
    st.integers(1, 5),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_look_up_renders_valid_inert_reachable_messages(
    cases: list[tuple[Meeting, LookupProblem | None]],
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
    m: Meeting, locale: Locale
) -> None:
    messages = render_digest(m, locale=locale)
    assert_valid(messages)
    assert_inert(messages)
    _assert_reachable(messages, [m])
    assert not_shown(messages) == 0
