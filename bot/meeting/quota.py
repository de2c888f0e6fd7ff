"""The process-wide budget of Tencent Meeting calls: a FIFO sliding-window limiter with a pause.

Tencent allows an app 300 calls a minute across all endpoints and answers 190310 beyond that, so
every caller in the process (slash commands, mentions, digests) draws from one `CallBudget`.
Each caller reserves the earliest time slot that keeps at most N calls in any window, in arrival
order, and sleeps until it. A quota error from Tencent pauses everybody, including those queued.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.meeting.errors import RateLimitTimeoutError

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


@dataclass(eq=False)
class _Slot:
    """One reserved call time; compared by identity so that one caller's slot can be given back."""

    at: float
    owner: str | None = None


class CallBudget:
    """Never more than `calls_per_period` acquisitions in any `period`-second window, and never more
    than `fair_share` of them for one owner (a Tencent userid): one person asking again and again,
    or about many meetings, cannot spend what everybody else needs."""

    def __init__(
        self,
        calls_per_period: int,
        period: float = 60.0,
        *,
        fair_share: int | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if calls_per_period < 1:
            raise ValueError("calls_per_period must be at least 1")
        if period <= 0:
            raise ValueError("period must be positive")
        self.calls_per_period = calls_per_period
        self.period = period
        #: by default a tenth of the budget, so that ten busy people still leave room for the rest
        #: (but at least ten calls: a tiny budget is not split so finely that a retry cannot pass)
        self.fair_share = fair_share or max(calls_per_period // 10, min(calls_per_period, 10))
        self._clock = clock
        self._sleep = sleep
        # Granted and reserved slots in time order; granted ones older than a period are dropped.
        self._slots: deque[_Slot] = deque()
        #: how many of `_slots` each owner holds, kept with them (a scan per call costs as much as
        #: the window is long: thousands of slots at a large budget)
        self._held: Counter[str] = Counter()
        self._paused_until = float("-inf")

    async def acquire(self, max_wait: float | None = None, *, owner: str | None = None) -> None:
        """Wait for this caller's turn; RateLimitTimeoutError if it is over `max_wait` away, or at
        once when `owner` holds its fair share of the window already."""
        now = self._clock()
        self._forget_before(now - self.period)
        if owner is not None and self._held[owner] >= self.fair_share:
            raise RateLimitTimeoutError(
                f"Tencent Meeting call budget: {owner} used its share "
                f"({self.fair_share} per {self.period:g} s)"
            )
        at = self._next_slot(len(self._slots), now)
        deadline = None if max_wait is None else now + max(max_wait, 0.0)
        if deadline is not None and at > deadline:
            raise self._timeout(at - now)
        slot = _Slot(at, owner)
        self._slots.append(slot)
        if owner is not None:
            self._held[owner] += 1
        try:
            await self._wait_for(slot, deadline)
        except BaseException:
            # Cancelled or timed out before its turn: the slot goes back so nobody is starved by it.
            if slot in self._slots:
                self._slots.remove(slot)
                self._release(slot)
            raise

    def pause(self, seconds: float) -> None:
        """No call may start for `seconds` from now (Tencent said we are over quota)."""
        self.pause_until(self._clock() + seconds)

    def pause_until(self, deadline: float) -> None:
        """No call may start before `deadline` (on this budget's clock); queued callers move too."""
        if deadline <= self._paused_until:
            return
        self._paused_until = deadline
        self._reschedule(self._clock())

    def in_window(self) -> int:
        """How many calls were granted in the last `period` seconds."""
        now = self._clock()
        return sum(1 for slot in self._slots if now - self.period < slot.at <= now)

    def waiting(self) -> int:
        """How many callers hold a slot that has not come yet."""
        now = self._clock()
        return sum(1 for slot in self._slots if slot.at > now)

    @property
    def paused_until(self) -> float:
        return self._paused_until

    async def _wait_for(self, slot: _Slot, deadline: float | None) -> None:
        # The slot can move later while we sleep (a pause), so look again after every wake-up.
        while (delay := slot.at - self._clock()) > 0:
            if deadline is not None and slot.at > deadline:
                raise self._timeout(delay)
            await self._sleep(delay)

    def _next_slot(self, index: int, now: float) -> float:
        """Earliest time for slot `index` that keeps order and at most N slots in any window."""
        at = max(now, self._paused_until)
        if index > 0:
            at = max(at, self._slots[index - 1].at)
        if index >= self.calls_per_period:
            at = max(at, self._slots[index - self.calls_per_period].at + self.period)
        return at

    def _reschedule(self, now: float) -> None:
        for index, slot in enumerate(self._slots):
            if slot.at > now:
                # Never earlier: its owner is already asleep until the old time.
                slot.at = max(slot.at, self._next_slot(index, now))

    def _forget_before(self, cutoff: float) -> None:
        # Slots this old can no longer constrain a new slot, which is never earlier than now; what
        # stays is what each owner holds (granted in the last period, or reserved ahead).
        slots = self._slots
        while slots and slots[0].at <= cutoff:
            self._release(slots.popleft())

    def _release(self, slot: _Slot) -> None:
        if slot.owner is not None:
            left = self._held[slot.owner] - 1
            if left > 0:
                self._held[slot.owner] = left
            else:
                del self._held[slot.owner]

    def _timeout(self, wait: float) -> RateLimitTimeoutError:
        return RateLimitTimeoutError(
            f"Tencent Meeting call budget exhausted: next call in {wait:.1f} s "
            f"({self.calls_per_period} per {self.period:g} s)"
        )
