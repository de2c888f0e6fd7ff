"""The one lookup path on its own: coalescing, the cache per userid, refresh, problems, and the
budget lane of a shared call."""

from __future__ import annotations

import asyncio

from bot.core.failures import Failure, MeetingServiceError
from bot.core.lanes import Lane, in_lane, lane_of
from bot.core.lookup import CachePolicy, ReplayLookup
from bot.core.meetings import MeetingRef
from bot.core.outcomes import LookupProblem
from tests.fakes.core import Clock, ReplayBook, meeting, replay

CODE = MeetingRef("code", "806146667")


async def settle() -> None:
    """Let the tasks just started run until they wait (on the book's gate)."""
    for _ in range(10):
        await asyncio.sleep(0)


def lookup(book: ReplayBook, clock: Clock) -> ReplayLookup:
    return ReplayLookup(book, cache=CachePolicy(with_replays=60, without_replays=15), clock=clock)


async def test_identical_lookups_at_once_cost_one_call(book: ReplayBook, clock: Clock) -> None:
    book.add("alice", meeting("1" * 19, "806146667", replay(1)))
    book.gate = asyncio.Event()
    replays = lookup(book, clock)
    pending = [asyncio.ensure_future(replays.lookup(CODE, "alice")) for _ in range(100)]
    await asyncio.sleep(0)
    book.gate.set()
    results = await asyncio.gather(*pending)
    assert book.calls == 1
    assert all(result.ok and len(result.meetings) == 1 for result in results)


async def test_answers_are_reused_for_their_time_and_refresh_looks_again(
    book: ReplayBook, clock: Clock
) -> None:
    book.add("alice", meeting("1" * 19, "806146667", replay(1)))
    replays = lookup(book, clock)
    await replays.lookup(CODE, "alice")
    clock.now += 59
    await replays.lookup(CODE, "alice")
    assert book.calls == 1
    await replays.lookup(CODE, "alice", fresh=True)
    assert book.calls == 2
    clock.now += 61
    await replays.lookup(CODE, "alice")
    assert book.calls == 3


async def test_a_meeting_without_replays_is_asked_again_sooner(
    book: ReplayBook, clock: Clock
) -> None:
    book.add("alice", meeting("1" * 19, "806146667"))
    replays = lookup(book, clock)
    await replays.lookup(CODE, "alice")
    clock.now += 15
    await replays.lookup(CODE, "alice")
    assert book.calls == 2


async def test_one_persons_answer_is_never_handed_to_another(
    book: ReplayBook, clock: Clock
) -> None:
    book.add("alice", meeting("1" * 19, "806146667", replay(1)))
    replays = lookup(book, clock)
    assert (await replays.lookup(CODE, "alice")).ok
    result = await replays.lookup(CODE, "mallory")
    assert result.problem is LookupProblem.NOT_CREATOR and not result.meetings
    assert book.calls == 2


async def test_failures_become_problems_and_are_not_cached(book: ReplayBook, clock: Clock) -> None:
    replays = lookup(book, clock)
    assert (await replays.lookup(CODE, "alice")).problem is LookupProblem.NOT_FOUND
    book.failure = MeetingServiceError(Failure.BUSY, "quota")
    assert (await replays.lookup(CODE, "alice")).problem is LookupProblem.BUSY
    book.failure = None
    book.add("alice", meeting("1" * 19, "806146667", replay(1)))
    assert (await replays.lookup(CODE, "alice")).ok
    assert book.calls == 3


async def test_not_the_creator_is_remembered_for_each_person(
    book: ReplayBook, clock: Clock
) -> None:
    book.add("alice", meeting("1" * 19, "806146667", replay(1)))
    replays = lookup(book, clock)
    people = [f"viewer{n}" for n in range(300)]
    for _ in range(2):  # the all-hands asks twice
        results = await asyncio.gather(*(replays.lookup(CODE, who) for who in people))
        assert {result.problem for result in results} == {LookupProblem.NOT_CREATOR}
    assert book.calls == 300
    assert (await replays.lookup(CODE, "alice")).ok
    clock.now += CachePolicy().not_creator
    assert (await replays.lookup(CODE, "viewer0")).problem is LookupProblem.NOT_CREATOR
    assert book.calls == 302


async def test_a_person_joining_a_look_up_a_digest_started_raises_it_to_peoples_lane(
    book: ReplayBook, clock: Clock
) -> None:
    book.add("alice", meeting("1" * 19, "806146667", replay(1)))
    book.gate = asyncio.Event()
    replays = lookup(book, clock)
    with in_lane(Lane.BACKGROUND):
        digest = asyncio.ensure_future(replays.lookup(CODE, "alice", fresh=True))
        other_digest = asyncio.ensure_future(replays.lookup(CODE, "alice"))
    await settle()
    (claim,) = book.claims
    # Started and joined by digests only: background work.
    assert lane_of(claim) is Lane.BACKGROUND

    person = asyncio.ensure_future(replays.lookup(CODE, "alice"))
    await settle()
    # A person waits for it too: the call (still waiting on Tencent here) is people's now.
    assert lane_of(claim) is Lane.PEOPLE
    book.gate.set()
    results = await asyncio.gather(digest, other_digest, person)
    assert book.calls == 1 and all(result.ok for result in results)


async def test_a_look_up_a_person_started_stays_in_peoples_lane_and_cached_answers_raise_nothing(
    book: ReplayBook, clock: Clock
) -> None:
    book.add("alice", meeting("1" * 19, "806146667", replay(1)))
    replays = lookup(book, clock)
    await replays.lookup(CODE, "alice")
    with in_lane(Lane.BACKGROUND):
        await replays.lookup(CODE, "alice", fresh=True)
    assert [lane_of(claim) for claim in book.claims] == [Lane.PEOPLE, Lane.BACKGROUND]

    # A digest's refresh under way while the answer is still cached: a person reading the cached
    # answer does not wait for the call, so it stays background work.
    book.gate = asyncio.Event()
    with in_lane(Lane.BACKGROUND):
        digest = asyncio.ensure_future(replays.lookup(CODE, "alice", fresh=True))
    await settle()
    assert len(book.claims) == 3
    assert (await replays.lookup(CODE, "alice")).ok
    assert lane_of(book.claims[2]) is Lane.BACKGROUND
    book.gate.set()
    assert (await digest).ok
