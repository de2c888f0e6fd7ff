"""CallBudget on virtual time: sliding window, FIFO order, bounded waits, pauses, cancellation."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        wake_at = self._sleepers[0][0]
        self.now = max(self.now, wake_at)
        while self._sleepers and self._sleepers[0][0] <= wake_at:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


def budget_on(vt: VirtualTime, calls: int, period: float) -> CallBudget:
    return CallBudget(calls, period, clock=vt, sleep=vt.sleep)


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
