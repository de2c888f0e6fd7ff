"""Text in mrkdwn: nothing from outside can become markup, and long text splits cleanly."""

from __future__ import annotations

import re

from bot.core.meetings import LiveReplay, Meeting
from bot.slack.render.messages import (
    render_digest,
    render_digest_give_up,
    render_lookup,
    render_shared,
    render_text,
)
from bot.slack.render.mrkdwn import escape_mrkdwn
from tests.slack.render.support import (
    all_text,
    assert_inert,
    assert_valid,
    found,
    meeting,
)


def test_escape_mrkdwn() -> None:
    assert escape_mrkdwn("<!here> & <@U1>") == "&lt;!here&gt; &amp; &lt;@U1&gt;"


def test_subjects_cannot_mention_or_link() -> None:
    evil = "<!channel> *now* & <https://evil.example|click> <@U999> &lt;"
    m = Meeting(
        meeting_id="1",
        code=evil,
        subject=evil,
        live_replays=(
            LiveReplay(room_id=evil, subject=evil, url="https://x.example/a"),
            LiveReplay(subject="x", url="javascript:<!here>"),
        ),
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


def test_a_strange_shared_by_is_not_turned_into_markup() -> None:
    messages = render_shared([found(meeting(1))], locale="en", shared_by="<!channel>")
    assert_inert(messages, allowed=r"(?!)")


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
