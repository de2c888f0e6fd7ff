"""When digests (and the poller) look for replays again, and which replays count as new."""

from __future__ import annotations

import pytest

from bot.core.digest_queue import DigestTiming
from bot.core.meetings import LiveReplay, Meeting
from bot.core.poller import poll_interval


def test_looks_again_at_doubling_intervals_from_the_delay_up_to_the_cap() -> None:
    timing = DigestTiming(delay=120, give_up=21600, max_interval=1800)
    assert [timing.next_look(n) for n in range(1, 7)] == [120, 240, 480, 960, 1800, 1800]


def test_a_zero_delay_still_waits_a_little_between_looks() -> None:
    # DIGEST_DELAY_SECONDS=0 must not turn an empty replay list into a hot loop against Tencent.
    timing = DigestTiming(delay=0)
    assert timing.next_look(1) == pytest.approx(0.05)
    assert timing.next_look(3) == pytest.approx(0.2)


def test_defaults_are_the_documented_ones() -> None:
    timing = DigestTiming()
    assert (timing.delay, timing.give_up) == (120, 21600)


def replay(room: str, url: str) -> LiveReplay:
    return LiveReplay(room_id=room, url=url)


def test_only_replays_not_posted_before_are_new() -> None:
    old, new = (
        replay("1", "https://meeting.tencent.com/l/a"),
        replay("2", "https://meeting.tencent.com/l/b"),
    )
    # Tencent's own example has two replays with one URL: the room tells them apart.
    twin = replay("3", "https://meeting.tencent.com/l/a")
    meeting = Meeting(meeting_id="m1", subject="Weekly", live_replays=(old, new, twin))

    fresh = meeting.without({old.key})

    assert fresh.live_replays == (new, twin)
    assert (fresh.meeting_id, fresh.subject) == ("m1", "Weekly")
    assert meeting.without(set()) == meeting
    assert meeting.without({r.key for r in (old, new, twin)}).live_replays == ()


def test_the_poller_looks_every_delay_unless_that_would_take_over_a_quarter_of_the_budget() -> None:
    assert poll_interval(120, watched=10, calls_per_minute=300) == 120
    # 1,000 codes at 75 calls a minute (a quarter of 300): one round every 800 s.
    assert poll_interval(120, watched=1000, calls_per_minute=300) == 800
    assert poll_interval(0, watched=1, calls_per_minute=10**6) == pytest.approx(0.05)
