"""`InFlight`: the work done after acknowledgements, run by a bounded pool so that answers never
delay acknowledgements, counted so that a flood can be turned away and a shutdown can wait for it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.core.waiting import wait_until_set

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[None]]

#: how many pieces of work run at once. Most of a look-up's time is waiting (for Tencent, 300 ms
#: or more; for its turn in the call budget, up to seconds), and a waiting piece costs no CPU, so
#: the pool is sized for 300 look-ups a second at Tencent's pace (90 waiting at once), not for
#: the core (with 32, `python -m benchmarks` had answers queueing past 100 look-ups a second).
DEFAULT_WORKERS = 128

#: a turn of the event loop longer than this means requests are queueing for it: new work waits
BUSY_TURN = 0.003
#: how long new work waits before it looks at the loop again
BUSY_PAUSE = 0.005
#: however busy the loop, a piece of work starts at least this often (answers never stop)
MAX_HOLD = 0.05


class InFlight:
    """What commands, mentions and buttons do after their ack: `submit`ted here, it runs in the
    submitter's context (its log correlation and request scope) once one of `workers` places is
    free, oldest first.

    Listeners return as soon as they have acknowledged (Bolt runs them with
    `process_before_response`), so the acknowledgement goes out without waiting for any answer.
    Acknowledgements come first after that too: a piece of work starts only on a quiet turn of
    the event loop (one under `busy_turn`), so that while requests queue for the loop their
    acknowledgements go before more answers; under a flood, one piece still starts every
    `max_hold` at least. `full` says when `limit` pieces of work are queued or running: past that, a
    new `/replays` look-up is turned away with a "busy" answer in its acknowledgement, because a
    queue that long means minutes of waiting. Commands that need no Tencent call still go through.
    """

    def __init__(
        self,
        limit: int = 1_000,
        *,
        workers: int = DEFAULT_WORKERS,
        busy_turn: float = BUSY_TURN,
        max_hold: float = MAX_HOLD,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.limit = limit
        self._busy_turn = busy_turn
        self._max_hold = max_hold
        # One piece of work at a time looks at the loop (the rest queue behind it, asleep).
        self._gate = asyncio.Lock()
        self._places = asyncio.Semaphore(workers)
        self._tasks: set[asyncio.Task[None]] = set()
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        """Pieces of work queued or running."""
        return self._count

    @property
    def full(self) -> bool:
        return self._count >= self.limit

    def submit(self, work: Work) -> None:
        """Run `work()` once a place is free; its failure is logged, never raised to anybody."""
        self._started()
        task = asyncio.get_running_loop().create_task(self._run(work))
        # The loop keeps only weak references to tasks: this set keeps them alive until done.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, within: float) -> bool:
        """Wait until nothing is queued or running; False if `within` seconds passed first."""
        return await wait_until_set(self._idle, at_most=within)

    async def _run(self, work: Work) -> None:
        try:
            async with self._places:
                await self._quiet_turn()
                await work()
        except Exception:
            # Listeners answer their own failures; this is the last line, so nothing is silent.
            log.exception("work after an acknowledgement failed")
        finally:
            self._finished()

    async def _quiet_turn(self) -> None:
        """Wait for a quiet turn of the event loop (or `max_hold` at most): while requests queue
        for the loop, acknowledging them comes before starting more answers."""
        async with self._gate:
            began = time.perf_counter()
            while True:
                turn = time.perf_counter()
                await asyncio.sleep(0)  # one turn of the loop: everything ready runs first
                now = time.perf_counter()
                if now - turn < self._busy_turn or now - began >= self._max_hold:
                    return
                await asyncio.sleep(BUSY_PAUSE)

    def _started(self) -> None:
        self._count += 1
        self._idle.clear()

    def _finished(self) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()
