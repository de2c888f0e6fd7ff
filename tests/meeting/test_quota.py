"""CallBudget on virtual time: sliding window, FIFO order, bounded waits, pauses, cancellation, and
the two lanes (people before background work, with a floor for background)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.lanes import Lane, SharedLane, bind_lane, current_claim, current_lane, in_lane
from bot.meeting.errors import RateLimitTimeoutError
from bot.meeting.quota import CallBudget


class VirtualTime:
    """A clock and a sleep for the budget: time only moves when every task is asleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(delay, 0.0), next(self._order), future))
        await future

    async def run(self, *coroutines: Awaitable[object]) -> list[object]:
        """Run the coroutines concurrently, jumping the clock to the next wake-up when all sleep."""
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        while not all(task.done() for task in tasks):
            await self._settle()
            if self._sleepers and not all(task.done() for task in tasks):
                self._wake_next()
        return [task.result() if not task.exception() else task.exception() for task in tasks]

    async def _settle(self) -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    def _wake_next(self) -> None:
        # A sleep cancelled early (a waiter woken for an earlier turn) must not move the clock.
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        if not self._sleepers:
            return
        wake_at = self._sleepers[0][0]
        self.now = max(self.now, wake_at)
        while self._sleepers and self._sleepers[0][0] <= wake_at:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


def budget_on(vt: VirtualTime, calls: int, period: float, **options: Any) -> CallBudget:
    """A budget on virtual time; background unpaced unless asked (the lane rule's tests are about
    the order of turns; the pace has tests of its own)."""
    options.setdefault("pace_background", False)
    return CallBudget(calls, period, clock=vt, sleep=vt.sleep, **options)


def assert_sliding_window(times: list[float], calls: int, period: float) -> None:
    ordered = sorted(times)
    # The tolerance only absorbs float rounding of `now + (slot - now)` in the virtual sleep.
    tolerance = 1e-9 * max(1.0, period)
    for first, last in zip(ordered, ordered[calls:], strict=False):
        assert last - first >= period - tolerance, f"{calls + 1} calls within {last - first} s"


async def test_first_n_calls_go_at_once_and_the_next_waits_a_period() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 3, 10.0)
    granted: list[float] = []

    async def call() -> None:
        await budget.acquire()
        granted.append(vt.now)

    await vt.run(*(call() for _ in range(7)))
    assert granted == [0, 0, 0, 10, 10, 10, 20]


async def test_calls_spread_over_time_use_the_window_not_fixed_buckets() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 2, 10.0)
    granted: list[float] = []

    async def call_at(start: float) -> None:
        await vt.sleep(start)
        await budget.acquire()
        granted.append(vt.now)

    await vt.run(call_at(0), call_at(6), call_at(7), call_at(12))
    # The third call waits until the first leaves the window (at 10), the fourth until 16.
    assert sorted(granted) == [0, 6, 10, 16]


@settings(max_examples=60, deadline=None)
@given(
    calls=st.integers(min_value=1, max_value=5),
    period=st.floats(min_value=0.5, max_value=100),
    starts=st.lists(st.floats(min_value=0, max_value=300), min_size=1, max_size=30),
)
def test_never_more_than_n_in_any_window(calls: int, period: float, starts: list[float]) -> None:
    async def scenario() -> list[float]:
        vt = VirtualTime()
        budget = budget_on(vt, calls, period)
        granted: list[float] = []

        async def call_at(start: float) -> None:
            await vt.sleep(start)
            await budget.acquire()
            granted.append(vt.now)

        await vt.run(*(call_at(s) for s in starts))
        return granted

    granted = asyncio.run(scenario())
    assert len(granted) == len(starts)
    assert_sliding_window(granted, calls, period)


async def test_waiters_are_served_in_arrival_order() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 1, 5.0)
    order: list[int] = []

    async def call(number: int, arrive: float) -> None:
        await vt.sleep(arrive)
        await budget.acquire()
        order.append(number)

    await vt.run(*(call(n, n * 0.1) for n in range(6)))
    assert order == list(range(6))


async def test_a_wait_longer_than_max_wait_fails_at_once_without_taking_a_slot() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 2, 60.0)
    await budget.acquire()
    await budget.acquire()

    with pytest.raises(RateLimitTimeoutError) as caught:
        await budget.acquire(max_wait=59)
    assert caught.value.retryable
    assert vt.now == 0
    assert budget.waiting() == 0

    # One that can wait long enough gets the slot the refused caller did not take.
    results = await vt.run(budget.acquire(max_wait=60))
    assert results == [None]
    assert vt.now == 60


async def test_max_wait_zero_means_only_if_free_now() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 1, 1.0)
    await budget.acquire(max_wait=0)
    with pytest.raises(RateLimitTimeoutError):
        await budget.acquire(max_wait=0)


async def test_pause_holds_back_new_and_already_queued_callers() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 2, 10.0)
    await budget.acquire()
    await budget.acquire()
    granted: list[float] = []

    async def queued() -> None:
        await budget.acquire()
        granted.append(vt.now)

    async def quota_error_then_late_caller() -> None:
        await vt.sleep(1)
        budget.pause(29)  # until 30
        await budget.acquire()
        granted.append(vt.now)

    await vt.run(queued(), quota_error_then_late_caller())
    # The queued caller had slot 10; the pause moved it to 30, and the late caller too.
    assert granted == [30, 30]
    assert budget.paused_until == 30


async def test_pause_makes_a_queued_caller_with_a_short_max_wait_give_up() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 1, 10.0)
    await budget.acquire()

    async def pauser() -> None:
        await vt.sleep(1)
        budget.pause_until(100)

    results = await vt.run(budget.acquire(max_wait=15), pauser())
    assert isinstance(results[0], RateLimitTimeoutError)
    assert budget.waiting() == 0


async def test_a_shorter_pause_never_shortens_a_longer_one() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 5, 1.0)
    budget.pause_until(50)
    budget.pause(10)
    assert budget.paused_until == 50
    await vt.run(budget.acquire())
    assert vt.now == 50


async def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 1, 10.0)
    await budget.acquire()
    waiter = asyncio.ensure_future(budget.acquire())
    await asyncio.sleep(0)
    assert budget.waiting() == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert budget.waiting() == 0

    await vt.run(budget.acquire())
    assert vt.now == 10


async def test_in_window_counts_recent_grants_only() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 3, 10.0)
    await budget.acquire()
    await budget.acquire()
    assert budget.in_window() == 2
    vt.now = 9.9
    assert budget.in_window() == 2
    vt.now = 10.0
    assert budget.in_window() == 0


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        CallBudget(0)
    with pytest.raises(ValueError):
        CallBudget(1, 0)


async def test_one_owner_gets_at_most_a_fair_share_and_the_others_still_get_theirs() -> None:
    budget = CallBudget(100, 60.0)
    assert budget.fair_share == 10
    for _ in range(budget.fair_share):
        await budget.acquire(0, owner="mallory")
    with pytest.raises(RateLimitTimeoutError):
        await budget.acquire(0, owner="mallory")
    # Everybody else, and calls made for nobody in particular (the directory), go on.
    await budget.acquire(0, owner="alice")
    await budget.acquire(0)
    assert budget.in_window() == budget.fair_share + 2


# --- two lanes: people before background work ---------------------------------------------------

PEOPLE, BACKGROUND = Lane.PEOPLE, Lane.BACKGROUND


def test_the_floor_is_a_quarter_of_the_budget_at_least_one() -> None:
    assert CallBudget(300).floor == 75
    assert CallBudget(3).floor == 1
    assert CallBudget(8, floor=0).floor == 0
    with pytest.raises(ValueError):
        CallBudget(8, floor=9)


@pytest.mark.parametrize("lane", list(Lane))
async def test_each_lane_alone_uses_the_whole_budget_and_no_more(lane: Lane) -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 4, 10.0)
    granted: list[float] = []

    async def call() -> None:
        await budget.acquire(lane=lane)
        granted.append(vt.now)

    await vt.run(*(call() for _ in range(9)))
    assert granted == [0] * 4 + [10] * 4 + [20]
    assert budget.in_window(lane) == 1 and budget.in_window() == 1


async def test_people_overtake_background_callers_queued_before_them() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 4, 10.0, floor=1)
    granted: dict[str, float] = {}

    async def call(name: str, lane: Lane, arrive: float) -> None:
        await vt.sleep(arrive)
        await budget.acquire(lane=lane)
        granted[name] = vt.now

    # Digests fill the window at 0 and four more queue at 1 for the turns that free up at 10.
    fill = [call(f"fill{n}", BACKGROUND, 0) for n in range(4)]
    queued = [call(f"b{n}", BACKGROUND, 1) for n in range(4)]
    people = [call(f"p{n}", PEOPLE, 2) for n in range(2)]
    await vt.run(*fill, *queued, *people)

    # At 10 the first digest gets its floor of one turn, then both people, then the next digest;
    # the last two digests, queued before the people, wait for the next turns.
    assert granted["p0"] == granted["p1"] == 10
    assert [granted[f"b{n}"] for n in range(4)] == [10, 10, 20, 20]


async def test_a_person_whose_turn_moves_earlier_is_woken_for_it() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 1, 10.0, floor=1)
    await budget.acquire()
    granted: list[float] = []
    digest = asyncio.ensure_future(budget.acquire(lane=BACKGROUND))

    async def person() -> None:
        await vt.sleep(1)
        await budget.acquire()
        granted.append(vt.now)

    async def digest_cancelled() -> None:
        await vt.sleep(2)
        # The digest holds the turn at 10 (its floor), the person the one at 20, until now.
        assert budget.waiting(BACKGROUND) == 1 and budget.waiting(PEOPLE) == 1
        digest.cancel()

    await vt.run(person(), digest_cancelled())
    assert granted == [10]
    assert digest.cancelled()


async def test_background_gets_its_floor_in_every_window_while_people_saturate() -> None:
    vt = VirtualTime()
    calls, period, floor = 8, 10.0, 2
    budget = budget_on(vt, calls, period, floor=floor)
    granted: dict[Lane, list[float]] = {PEOPLE: [], BACKGROUND: []}

    async def call(lane: Lane, arrive: float) -> None:
        await vt.sleep(arrive)
        await budget.acquire(lane=lane)
        granted[lane].append(vt.now)

    # People fill the window at 0 and keep coming, far more than the budget takes; ten digests
    # queue behind them.
    people = [call(PEOPLE, 0) for _ in range(20)] + [call(PEOPLE, n * 0.5) for n in range(100)]
    digests = [call(BACKGROUND, 0.25) for _ in range(10)]
    await vt.run(*people, *digests)

    assert_sliding_window(granted[PEOPLE] + granted[BACKGROUND], calls, period)
    assert granted[PEOPLE][:calls] == [0] * calls
    for start in (10, 20, 30, 40, 50):
        # While both wait, each window's turns: the floor to digests, the rest to people.
        people_here = [t for t in granted[PEOPLE] if start <= t < start + period]
        digests_here = [t for t in granted[BACKGROUND] if start <= t < start + period]
        assert (len(digests_here), len(people_here)) == (floor, calls - floor)
    # Once the digests are done, people have the whole budget.
    assert sum(1 for t in granted[PEOPLE] if 60 <= t < 70) == calls


async def test_a_background_caller_pushed_past_its_max_wait_by_a_person_gives_up_at_once() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 2, 10.0, floor=1)
    await budget.acquire()  # a person's call at 0
    vt.now = 5
    await budget.acquire(lane=BACKGROUND)  # background holds its floor until 15
    failed: list[float] = []
    granted: list[float] = []

    async def digest() -> None:
        await vt.sleep(1)
        try:
            await budget.acquire(max_wait=5, lane=BACKGROUND)  # the turn at 10 would do
        except RateLimitTimeoutError:
            failed.append(vt.now)

    async def person() -> None:
        await vt.sleep(2)
        await budget.acquire()
        granted.append(vt.now)

    await vt.run(digest(), person())
    # The person took the turn at 10; the digest's next one (15) is past its deadline (11), so it
    # gave up when the person came, not when its old turn came.
    assert granted == [10]
    assert failed == [7]
    assert budget.waiting() == 0


@pytest.mark.parametrize("lane", list(Lane))
async def test_a_turn_beyond_max_wait_fails_at_once_in_either_lane(lane: Lane) -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 2, 10.0)
    await budget.acquire(lane=BACKGROUND)
    await budget.acquire(lane=PEOPLE)
    with pytest.raises(RateLimitTimeoutError):
        await budget.acquire(max_wait=9, lane=lane)
    assert budget.waiting() == 0
    results = await vt.run(budget.acquire(max_wait=10, lane=lane))
    assert results == [None] and vt.now == 10


async def test_a_person_refused_at_once_leaves_queued_digests_their_turns() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 1, 10.0, floor=0)
    await budget.acquire()
    granted: list[float] = []

    async def digest() -> None:
        # Its turn is 10; behind the person it would be 20, past its deadline.
        await budget.acquire(max_wait=15, lane=BACKGROUND)
        granted.append(vt.now)

    async def impatient_person() -> None:
        await vt.sleep(1)
        with pytest.raises(RateLimitTimeoutError):
            await budget.acquire(max_wait=5)  # its turn would be 10: too far

    await vt.run(digest(), impatient_person())
    assert granted == [10]


@pytest.mark.parametrize("first", list(Lane))
async def test_a_cancelled_waiter_gives_its_turn_to_the_next_in_the_other_lane(first: Lane) -> None:
    vt = VirtualTime()
    second = PEOPLE if first is BACKGROUND else BACKGROUND
    # Background's floor of one turn puts it first; without a floor, people are.
    budget = budget_on(vt, 1, 10.0, floor=1 if first is BACKGROUND else 0)
    await budget.acquire()
    waiter = asyncio.ensure_future(budget.acquire(lane=first))
    other = asyncio.ensure_future(budget.acquire(lane=second))
    await asyncio.sleep(0)
    assert budget.waiting(first) == budget.waiting(second) == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert budget.waiting() == 1
    # The other one had the turn at 20; it is woken for the one at 10.
    await vt.run(other)
    assert vt.now == 10


async def test_a_shared_call_moves_up_to_peoples_lane_when_a_person_joins_it() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 1, 10.0, floor=0)
    await budget.acquire()
    shared = SharedLane(BACKGROUND)
    granted: dict[str, float] = {}

    async def call(name: str, lane: Lane | SharedLane, arrive: float) -> None:
        await vt.sleep(arrive)
        await budget.acquire(lane=lane)
        granted[name] = vt.now

    async def person_joins_the_shared_call() -> None:
        await vt.sleep(2)
        assert budget.waiting(BACKGROUND) == 1
        shared.join(PEOPLE)
        assert budget.waiting(BACKGROUND) == 0 and budget.waiting(PEOPLE) == 2

    # Queued at 0 (turn 10), pushed back by a person at 1 (turn 20), raised at 2: it goes first
    # again, as the person who came earlier.
    await vt.run(
        call("shared", shared, 0), call("person", PEOPLE, 1), person_joins_the_shared_call()
    )
    assert granted == {"shared": 10, "person": 20}
    assert shared.lane is PEOPLE
    shared.join(BACKGROUND)  # never lowered again
    assert shared.lane is PEOPLE


async def test_lanes_travel_with_the_work_into_the_tasks_it_starts() -> None:
    assert current_lane() is PEOPLE
    with in_lane(BACKGROUND):
        assert current_lane() is BACKGROUND
        inherited = await asyncio.create_task(asyncio.sleep(0, current_lane()))
        assert inherited is BACKGROUND
    assert current_lane() is PEOPLE

    async def job() -> Lane:
        bind_lane(BACKGROUND)
        return current_lane()

    shared = SharedLane(BACKGROUND)
    with in_lane(shared):
        assert current_claim() is shared and current_lane() is BACKGROUND
        shared.join(PEOPLE)
        assert current_lane() is PEOPLE

    # A job binds the lane in its own task only.
    assert await asyncio.create_task(job()) is BACKGROUND
    assert current_lane() is PEOPLE


@dataclass
class Event:
    kind: str  # "arrive" or "grant"
    caller: int
    lane: Lane
    at: float


@settings(max_examples=150, deadline=None)
@given(
    calls=st.integers(min_value=1, max_value=6),
    # Times in eighths of a second: float sums stay exact, so one instant is one instant.
    period=st.integers(min_value=8, max_value=240).map(lambda eighths: eighths / 8),
    floor=st.integers(min_value=0, max_value=6),
    # Arrivals crowded into a few windows, so that both lanes often wait at once.
    arrivals=st.lists(
        st.tuples(
            st.sampled_from(list(Lane)),
            st.integers(min_value=0, max_value=240).map(lambda eighths: eighths / 8),
        ),
        min_size=1,
        max_size=50,
    ),
)
# People fill the window, digests queue, more people queue: the turns at 10 are one digest's (its
# floor), then people's.
@example(
    calls=4,
    period=10.0,
    floor=1,
    arrivals=[(PEOPLE, 0.0)] * 4 + [(BACKGROUND, 0.125)] * 3 + [(PEOPLE, 0.25)] * 6,
)
def test_lanes_keep_the_window_the_floor_and_the_order(
    calls: int, period: float, floor: int, arrivals: list[tuple[Lane, float]]
) -> None:
    floor = min(floor, calls)

    async def scenario() -> list[Event]:
        vt = VirtualTime()
        budget = budget_on(vt, calls, period, floor=floor)
        events: list[Event] = []

        async def call(caller: int, lane: Lane, start: float) -> None:
            await vt.sleep(start)
            events.append(Event("arrive", caller, lane, vt.now))
            await budget.acquire(lane=lane)
            events.append(Event("grant", caller, lane, vt.now))

        await vt.run(*(call(n, lane, start) for n, (lane, start) in enumerate(arrivals)))
        assert budget.waiting() == 0
        return events

    events = asyncio.run(scenario())
    grants = [e for e in events if e.kind == "grant"]
    assert len(grants) == len(arrivals)
    # Never more than N in any window, both lanes together.
    assert_sliding_window([g.at for g in grants], calls, period)

    def in_window(at: float, lane: Lane | None = None) -> int:
        """Grants whose window covers `at` (the budget's own arithmetic: in until at + period)."""
        return sum(1 for g in grants if g.at <= at < g.at + period and lane in (None, g.lane))

    arrived = {e.caller: i for i, e in enumerate(events) if e.kind == "arrive"}
    granted = {e.caller: i for i, e in enumerate(events) if e.kind == "grant"}
    granted_at = {g.caller: g.at for g in grants}
    for index, grant in enumerate(events):
        if grant.kind != "grant":
            continue
        # Callers of each lane waiting when this turn was given, and still waiting once every
        # turn of this instant was given.
        waiting = {
            lane: [
                c
                for c, i in arrived.items()
                if i < index
                and granted[c] > index
                and granted_at[c] > grant.at
                and arrivals[c][0] is lane
            ]
            for lane in Lane
        }
        # Work conserving: nobody is left waiting while the window has room.
        assert not (waiting[PEOPLE] or waiting[BACKGROUND]) or in_window(grant.at) == calls
        if grant.lane is PEOPLE and waiting[BACKGROUND]:
            # A person went ahead of background only with background holding its floor.
            assert in_window(grant.at, BACKGROUND) >= floor
        if grant.lane is BACKGROUND and waiting[PEOPLE]:
            # Background went ahead of a person only to make up its floor.
            assert in_window(grant.at, BACKGROUND) <= floor
    # First come, first served within a lane (callers granted at one instant go together).
    for lane in Lane:
        order = sorted((c for c in granted_at if arrivals[c][0] is lane), key=arrived.__getitem__)
        times = [granted_at[c] for c in order]
        assert times == sorted(times)


# --- background's pace --------------------------------------------------------------------------


async def test_a_backlog_of_background_calls_goes_at_the_budgets_pace_after_its_floor() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 8, 10.0, floor=2, pace_background=True)
    granted: list[float] = []

    async def digest() -> None:
        await budget.acquire(lane=BACKGROUND)
        granted.append(vt.now)

    await vt.run(*(digest() for _ in range(20)))
    # its floor at once, then one every 10/8 s as the pace allows: the whole budget over time,
    # never in one go
    assert granted[:2] == [0, 0]
    assert granted[2:] == pytest.approx([1.25 * n for n in range(2, 20)])
    assert_sliding_window(granted, 8, 10.0)


async def test_a_person_arriving_behind_a_backlog_of_digests_waits_one_step_at_most() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 8, 10.0, floor=2, pace_background=True)
    granted: dict[str, float] = {}
    digests: list[float] = []

    async def digest() -> None:
        await budget.acquire(lane=BACKGROUND)
        digests.append(vt.now)

    async def person(name: str, arrive: float) -> None:
        await vt.sleep(arrive)
        await budget.acquire(max_wait=8)
        granted[name] = vt.now

    arrivals = {"early": 3.0, "mid": 7.0, "window full": 12.1, "later": 15.5, "last": 31.0}
    await vt.run(*(digest() for _ in range(40)), *(person(n, t) for n, t in arrivals.items()))
    for name, arrived in arrivals.items():
        assert granted[name] - arrived <= 1.25, name
    assert len(digests) == 40
    assert_sliding_window(digests + list(granted.values()), 8, 10.0)


async def test_people_have_no_pace() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 8, 10.0, pace_background=True)
    for _ in range(8):
        await budget.acquire()
    assert vt.now == 0 and budget.in_window(PEOPLE) == 8


async def test_transit_keeps_calls_a_whole_period_apart_where_they_arrive() -> None:
    vt = VirtualTime()
    budget = budget_on(vt, 2, 10.0, transit=0.5)
    granted: list[float] = []

    async def call() -> None:
        await budget.acquire()
        granted.append(vt.now)

    await vt.run(*(call() for _ in range(5)))
    # a call that took 0.5 s to arrive still leaves a whole period before the next one arrives
    assert granted == [0, 0, 10.5, 10.5, 21.0]


async def test_while_people_ask_background_slows_to_what_they_leave_and_nobody_waits_long() -> None:
    vt = VirtualTime()
    calls, period = 60, 60.0  # one a second
    budget = budget_on(vt, calls, period, floor=15, pace_background=True)
    digests: list[float] = []
    waits: list[float] = []

    async def digest() -> None:
        await budget.acquire(lane=BACKGROUND)
        digests.append(vt.now)

    async def person(arrive: float) -> None:
        await vt.sleep(arrive)
        await budget.acquire(max_wait=8)
        waits.append(vt.now - arrive)

    # 300 digests due at once; people ask 0.6 calls a second for two minutes.
    people = [person(n / 0.6) for n in range(72)]
    await vt.run(*(digest() for _ in range(300)), *people)

    assert len(waits) == 72 and max(waits) <= 2.0, max(waits)
    assert len(digests) == 300
    assert_sliding_window(
        digests + [t + w for t, w in zip([n / 0.6 for n in range(72)], waits, strict=True)],
        calls,
        period,
    )


async def test_a_fair_share_comes_back_as_the_window_slides_and_when_a_wait_is_given_up() -> None:
    vt = VirtualTime()
    budget = CallBudget(20, 60.0, fair_share=2, clock=vt, sleep=vt.sleep)
    await budget.acquire(0, owner="mallory")
    vt.now = 30.0
    await budget.acquire(0, owner="mallory")
    with pytest.raises(RateLimitTimeoutError):
        await budget.acquire(0, owner="mallory")
    vt.now = 60.5  # the first call left the window: one call of the share is free again
    await budget.acquire(0, owner="mallory")
    with pytest.raises(RateLimitTimeoutError):
        await budget.acquire(0, owner="mallory")
    # A slot given back before its turn (a timed-out or cancelled wait) no longer counts.
    vt.now = 90.5  # only the call at 60.5 is still in the window
    budget.pause(10.0)
    waiter = asyncio.ensure_future(budget.acquire(owner="mallory"))
    await asyncio.sleep(0)
    with pytest.raises(RateLimitTimeoutError):
        await budget.acquire(0, owner="mallory")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # waits out the pause: a slot of its own, not a refusal
    await vt.run(budget.acquire(20.0, owner="mallory"))
    assert vt.now == 100.5
