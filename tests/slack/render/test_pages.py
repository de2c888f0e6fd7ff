"""Packing cards into messages: continuation, the overflow page, every replay reachable."""

from __future__ import annotations

from bot.core.meetings import MeetingRef
from bot.i18n import t
from bot.slack.render.messages import (
    SHARE_ACTION_ID,
    render_digest,
    render_lookup,
)
from tests.slack.render.support import (
    all_text,
    all_urls,
    assert_valid,
    found,
    meeting,
    not_shown,
    share_buttons,
)


def test_sixty_replays_fill_two_messages_and_all_are_reachable() -> None:
    m = meeting(60)
    messages = render_lookup([found(m)], locale="en", requester="U1", shareable=True)
    assert_valid(messages)
    assert len(messages) == 2
    assert all_urls(messages) == [r.url for r in m.live_replays]
    second = messages[1]["blocks"]
    assert second[0]["type"] == "context"
    assert second[0]["elements"][0]["text"] == "(continued, 2/2)"
    assert second[1] == {"type": "header", "text": {"type": "plain_text", "text": "Weekly sync"}}
    assert messages[1]["text"].startswith("(continued, 2/2)")
    assert len(share_buttons(messages)) == 1
    assert messages[1]["blocks"][-1]["elements"][0]["action_id"] == SHARE_ACTION_ID


def test_when_messages_run_out_the_last_one_lists_the_rest_compactly() -> None:
    meetings = [meeting(60, subject=f"M{n}", code=str(100_000_000 + n)) for n in range(10)]
    results = [found(m, MeetingRef("code", m.code)) for m in meetings]
    messages = render_lookup(results, locale="en", requester="U1", shareable=True)
    assert_valid(messages)
    assert len(messages) == 5
    assert messages[-1]["blocks"][0]["elements"][0]["text"] == "(continued, 5/5)"
    assert t("overflow_intro", "en") in all_text(messages[-1:])
    expected = [r.url for m in meetings for r in m.live_replays]
    assert sorted(all_urls(messages)) == sorted(expected)  # 600 replays, every one reachable
    assert not_shown(messages) == 0
    assert len(share_buttons(messages)) == 1


def test_what_cannot_fit_at_all_is_counted_not_dropped_silently() -> None:
    meetings = [meeting(100, subject=f"M{n}", code=str(100_000_000 + n)) for n in range(10)]
    results = [found(m, MeetingRef("code", m.code)) for m in meetings]
    messages = render_lookup(results, locale="en", requester="U1", shareable=False, max_messages=2)
    assert_valid(messages)
    assert len(messages) == 2
    reached = set(all_urls(messages))
    expected = {r.url for m in meetings for r in m.live_replays}
    assert reached <= expected
    assert not_shown(messages) == len(expected - reached) > 0


def test_a_single_message_budget_still_works() -> None:
    messages = render_lookup(
        [found(meeting(60))], locale="en", requester="U1", shareable=True, max_messages=1
    )
    assert_valid(messages)
    assert len(messages) == 1
    assert len(all_urls(messages)) == 60


def test_a_digest_of_sixty_replays() -> None:
    m = meeting(60)
    messages = render_digest(m, locale="zh")
    assert_valid(messages)
    assert all_urls(messages) == [r.url for r in m.live_replays]
