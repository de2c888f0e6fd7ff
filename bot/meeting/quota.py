"""The process-wide budget of Tencent Meeting calls: a sliding-window limiter with two lanes.

Tencent allows an app 300 calls a minute across all endpoints and answers 190310 beyond that, so
every caller in the process draws from one `CallBudget`: never more than N calls in any window.

**People before digests.** Every call is made in a lane. `Lane.PEOPLE` is the default: slash
commands, mentions, the share button, the directory a look-up needs. `Lane.BACKGROUND` is work
nobody is waiting for: the digest worker and the replay poller mark their work so
(`bot.core.lanes`), and the client hands the lane of the work it serves to `acquire`. Whenever a turn
comes free and both lanes have callers waiting, it goes to the background caller waiting longest
only while background calls hold fewer than `floor` of the turns in the window (a quarter of the
budget by default), else to the person waiting longest. So a person arriving behind queued digests
overtakes them; digests still get their floor while people use the rest; a lane with nobody waiting
in the other may use the whole budget, and neither, nor both together, ever more. Background turns
also keep the budget's pace: every call, either lane's, spends from one bucket that fills at N a
period (one second's worth at most); people may overdraw it, background waits for it unless it is
below its floor. So a thousand digests due at once do not fill the window in one go, and while
people ask, digests slow down to what people leave: the window never fills early and then stays
full until its oldest calls leave it, and a person finds a turn within a step (0.2 s at 300 a
minute) rather than up to a minute later. Within a lane,
callers go in arrival order. A call made once for several callers (one look-up a digest started and
a person joined: `SharedLane`) is people's as soon as one of them is a person, and moves up at once.

Every change (an arrival, a caller leaving, a pause, a shared lane raised, a turn taken later than
planned) plans the queue again: each waiter is given the turn the rule gives it if nobody else
arrives. A caller whose turn is beyond its
`max_wait` fails at once with RateLimitTimeoutError (the user hears "busy, try again" right away,
not a minute later), and so does a queued caller pushed past its deadline by a person or a pause; a
caller whose turn moved earlier is woken. A turn is only taken after counting the calls actually
granted in the window, so the plan orders callers but can never let more than N through. No owner
(a Tencent userid) may hold more than `fair_share` of a window, and a quota error from Tencent
pauses everybody, including those queued.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.core.lanes import Lane, SharedLane, lane_of
from bot.meeting.errors import RateLimitTimeoutError

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


@dataclass(eq=False)
class _Grant:
    """A call let through at `at`: it counts against the window until `at + period + transit`."""

    at: float
    lane: Lane
    owner: str | None


@dataclass(eq=False)
class _Waiter:
    """A caller waiting for its turn; compared by identity, so that it can leave the queue."""

    claim: Lane | SharedLane
    owner: str | None
    deadline: float | None
    #: the turn the last plan gave it
    at: float = math.inf
    #: dropped from the queue by a plan: its turn is past its deadline
    late: bool = False
    #: while asleep: the turn it sleeps towards, and the future that wakes it earlier
    dozing_until: float = math.inf
    wake: asyncio.Future[None] | None = field(default=None, repr=False)

    @property
    def lane(self) -> Lane:
        return lane_of(self.claim)


class _Pace:
    """A token bucket: `rate` turns a second, up to `burst` saved up (full at first); a taker may
    overdraw it, which the next ones wait for."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._since = -math.inf

    def copy(self) -> _Pace:
        twin = _Pace(self.rate, self.burst)
        twin._tokens, twin._since = self._tokens, self._since
        return twin

    def _level(self, at: float) -> float:
        if math.isinf(self.rate) or math.isinf(self._since):
            return self.burst
        return min(self.burst, self._tokens + (at - self._since) * self.rate)

    def due(self, at: float) -> float:
        """The earliest time, from `at` on, with a turn saved up."""
        level = self._level(at)
        # A hair under one counts: the time computed for one turn must give one turn.
        return at if level >= 1 - 1e-9 else at + (1 - level) / self.rate

    def take(self, at: float) -> None:
        self._tokens, self._since = self._level(at) - 1, at


class CallBudget:
    """Never more than `calls_per_period` acquisitions in any `period`-second window, never more
    than `fair_share` of them for one owner (a Tencent userid: one person asking again and again,
    or about many meetings, cannot spend what everybody else needs), and background calls served
    after people's but for `floor` turns a window (see the module docstring)."""

    def __init__(
        self,
        calls_per_period: int,
        period: float = 60.0,
        *,
        fair_share: int | None = None,
        floor: int | None = None,
        pace_background: bool = True,
        transit: float = 0.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if calls_per_period < 1:
            raise ValueError("calls_per_period must be at least 1")
        if period <= 0:
            raise ValueError("period must be positive")
        if floor is not None and not 0 <= floor <= calls_per_period:
            raise ValueError("floor must be between 0 and calls_per_period")
        self.calls_per_period = calls_per_period
        self.period = period
        #: how long a call keeps its place in the window: a period, and the `transit` a call may
        #: take from its turn to Tencent (a network hop that varies), so that two calls a period
        #: apart here never arrive less than a period apart there
        self._span = period + transit
        #: by default a tenth of the budget, so that ten busy people still leave room for the rest
        #: (but at least ten calls: a tiny budget is not split so finely that a retry cannot pass)
        self.fair_share = fair_share or max(calls_per_period // 10, min(calls_per_period, 10))
        #: turns per window background calls get first while people wait too: a quarter by default
        self.floor = max(calls_per_period // 4, 1) if floor is None else floor
        #: the budget's pace, which every call spends from and background waits for (see the
        #: module docstring): a window filled early would stay full until its oldest calls left
        rate = self.calls_per_period / period
        self._pace = _Pace(rate, max(1.0, math.floor(rate)))
        if not pace_background:
            self._pace = _Pace(math.inf, math.inf)
        self._background_granted = 0
        self._clock = clock
        self._sleep = sleep
        # Calls granted in the last period, in time order (the clock never goes back).
        self._grants: list[_Grant] = []
        # How many of them each owner holds: counted as they come and go, so that checking a
        # share costs the same with 300 calls in the window as with a million.
        self._granted_to: Counter[str] = Counter()
        # Callers waiting, in arrival order.
        self._waiters: list[_Waiter] = []
        self._paused_until = float("-inf")

    async def acquire(
        self,
        max_wait: float | None = None,
        *,
        owner: str | None = None,
        lane: Lane | SharedLane = Lane.PEOPLE,
    ) -> None:
        """Wait for this caller's turn in `lane` (a `SharedLane` raised meanwhile moves the caller
        up); RateLimitTimeoutError if the turn is (or, once queued, comes to be) over `max_wait`
        away, or at once when `owner` holds its fair share of the window already. Cancelled while
        waiting, the caller's turn goes to the next."""
        now = self._clock()
        self._forget_before(now)
        if owner is not None and self._held_by(owner) >= self.fair_share:
            raise RateLimitTimeoutError(
                f"Tencent Meeting call budget: {owner} used its share "
                f"({self.fair_share} per {self.period:g} s)"
            )
        if not self._waiters and self._room(now, lane_of(lane)):
            self._grant(now, lane_of(lane), owner)
            return
        deadline = None if max_wait is None else now + max(max_wait, 0.0)
        waiter = _Waiter(lane, owner, deadline)
        self._waiters.append(waiter)
        self._plan(now)
        if deadline is not None and waiter.at > deadline:
            # Refused before it was ever queued: the others keep the turns they had.
            self._waiters.remove(waiter)
            self._plan(now)
            raise self._timeout(waiter.at - now)
        # A person may have pushed background callers back, some of them past their deadlines.
        self._replan(now, planned=True)
        try:
            if isinstance(lane, SharedLane):
                with lane.listening(lambda: self._replan(self._clock())):
                    await self._wait(waiter)
            else:
                await self._wait(waiter)
        except BaseException:
            # Cancelled, or late: its turn goes to the next caller, who may now go sooner.
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                self._replan(self._clock())
            raise

    def pause(self, seconds: float) -> None:
        """No call may start for `seconds` from now (Tencent said we are over quota)."""
        self.pause_until(self._clock() + seconds)

    def pause_until(self, deadline: float) -> None:
        """No call may start before `deadline` (on this budget's clock); queued callers move too,
        and those it pushes past their `max_wait` give up at once."""
        if deadline <= self._paused_until:
            return
        self._paused_until = deadline
        self._replan(self._clock())

    def in_window(self, lane: Lane | None = None) -> int:
        """How many calls (of `lane`, or all) were granted in the last `period` seconds."""
        now = self._clock()
        return sum(
            1
            for grant in self._grants
            if now < grant.at + self._span and (lane is None or grant.lane is lane)
        )

    def waiting(self, lane: Lane | None = None) -> int:
        """How many callers (of `lane`, or all) wait for their turn."""
        return sum(1 for waiter in self._waiters if lane is None or waiter.lane is lane)

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def _held_by(self, owner: str) -> int:
        """Calls of `owner` granted in the window, or waiting."""
        waiting = sum(1 for waiter in self._waiters if waiter.owner == owner)
        return self._granted_to[owner] + waiting

    def _room(self, now: float, lane: Lane) -> bool:
        """Whether a call may start now, by the calls actually granted (call after _forget_before)
        and, for background, the pace."""
        if lane is Lane.BACKGROUND and self._held_back(now, self._pace, self._background_granted):
            return False
        return now >= self._paused_until and len(self._grants) < self.calls_per_period

    def _grant(self, now: float, lane: Lane, owner: str | None) -> None:
        self._grants.append(_Grant(now, lane, owner))
        if owner is not None:
            self._granted_to[owner] += 1
        self._pace.take(now)
        if lane is Lane.BACKGROUND:
            self._background_granted += 1

    def _held_back(self, at: float, pace: _Pace, background_in_window: int) -> bool:
        """Whether a background turn at `at` must wait for the pace (not below its floor)."""
        return background_in_window >= self.floor and pace.due(at) > at

    async def _wait(self, waiter: _Waiter) -> None:
        while True:
            if waiter.late:
                raise self._timeout(waiter.at - self._clock())
            now = self._clock()
            if waiter.at <= now:
                self._forget_before(now)
                if self._room(now, waiter.lane):
                    self._waiters.remove(waiter)
                    self._grant(now, waiter.lane, waiter.owner)
                    # Taken later than planned (a slow wake-up), the call leaves the window later
                    # too, which only matters to turns a period or more after the planned one.
                    if now > waiter.at and any(
                        other.at >= waiter.at + self._span for other in self._waiters
                    ):
                        self._replan(now)
                    return
                # The window is fuller than planned (a turn taken late): plan again.
                self._replan(now)
                continue
            await self._doze(waiter, waiter.at - now)

    async def _doze(self, waiter: _Waiter, delay: float) -> None:
        """Sleep `delay` seconds, or less when a new plan wakes the waiter (an earlier turn, or
        none at all)."""
        waiter.wake = asyncio.get_running_loop().create_future()
        waiter.dozing_until = waiter.at
        sleeper = asyncio.ensure_future(self._sleep(delay))
        try:
            await asyncio.wait((sleeper, waiter.wake), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waiter.wake, waiter.dozing_until = None, math.inf

    def _replan(self, now: float, *, planned: bool = False) -> None:
        """Plan (unless just `planned`), drop the waiters whose turn is now past their deadline (the
        earliest first: the others may move up into its turn), and wake those that must act before
        they planned to."""
        while True:
            if not planned:
                self._plan(now)
            planned = False
            late = [w for w in self._waiters if w.deadline is not None and w.at > w.deadline]
            if not late:
                break
            first = min(late, key=lambda w: w.at)
            self._waiters.remove(first)
            first.late = True
            self._wake(first)
        for waiter in self._waiters:
            if waiter.at < waiter.dozing_until:
                self._wake(waiter)

    @staticmethod
    def _wake(waiter: _Waiter) -> None:
        if waiter.wake is not None and not waiter.wake.done():
            waiter.wake.set_result(None)

    def _plan(self, now: float) -> None:
        """Give each waiter the turn it gets if nobody else arrives. Turns come in time order, each
        as soon as the window has room for one more call (by the calls granted and those planned
        before it); a turn goes to background while background holds fewer than `floor` calls in
        the window or no person waits, else to a person; first come, first served in each lane."""
        n, period = self.calls_per_period, self._span
        # When each call, granted or planned, leaves the window.
        leaves = [grant.at + period for grant in self._grants[-n:]]
        background_leaves = deque(g.at + period for g in self._grants if g.lane is Lane.BACKGROUND)
        people: deque[_Waiter] = deque()
        background: deque[_Waiter] = deque()
        for waiter in self._waiters:
            (people if waiter.lane is Lane.PEOPLE else background).append(waiter)
        pace = self._pace.copy()
        at = max(now, self._paused_until)
        while people or background:
            if len(leaves) >= n:
                # The call n places back has to have left the window.
                at = max(at, leaves[-n])
            while background_leaves and background_leaves[0] <= at:
                background_leaves.popleft()
            take_background = bool(background) and (
                not people or len(background_leaves) < self.floor
            )
            if take_background and self._held_back(at, pace, len(background_leaves)):
                if not people:
                    at = pace.due(at)  # nobody else waits: background's next turn at the pace
                    continue
                take_background = False  # not background's turn yet: a person goes first
            if take_background:
                waiter = background.popleft()
                background_leaves.append(at + period)
            else:
                waiter = people.popleft()
            pace.take(at)
            waiter.at = at
            leaves.append(at + period)

    def _forget_before(self, now: float) -> None:
        # Calls that have left the window can no longer hold back a call, which is never earlier.
        keep = next(
            (i for i, grant in enumerate(self._grants) if grant.at + self._span > now),
            len(self._grants),
        )
        for grant in self._grants[:keep]:
            if grant.lane is Lane.BACKGROUND:
                self._background_granted -= 1
            if grant.owner is not None:
                self._granted_to[grant.owner] -= 1
                if not self._granted_to[grant.owner]:
                    del self._granted_to[grant.owner]
        del self._grants[:keep]

    def _timeout(self, wait: float) -> RateLimitTimeoutError:
        return RateLimitTimeoutError(
            f"Tencent Meeting call budget exhausted: next call in {wait:.1f} s "
            f"({self.calls_per_period} per {self.period:g} s)"
        )
