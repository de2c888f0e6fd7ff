"""`InFlight`: the work done after acknowledgements, run by a bounded pool so that answers never
delay acknowledgements, counted so that a flood can be turned away and a shutdown can wait for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[None]]

#: how many pieces of work run at once. Most of a look-up's time is waiting (for Tencent, 300 ms
#: or more; for its turn in the call budget, up to seconds), and a waiting piece costs no CPU, so
#: the pool is sized for 300 look-ups a second at Tencent's pace (90 waiting at once), not for
#: the core: `python -m benchmarks` measured 32 (answers queue past 100/s) and 256 (no better).
DEFAULT_WORKERS = 128


class InFlight:
    """What commands, mentions and buttons do after their ack: `submit`ted here, it runs in the
    submitter's context (its log correlation and request scope) once one of `workers` places is
    free, oldest first.

    Listeners return as soon as they have acknowledged (Bolt runs them with
    `process_before_response`), so the acknowledgement goes out without waiting for any answer,
    and the pool bounds how much answer work shares the event loop with the next
    acknowledgements. `full` says when `limit` pieces of work are queued or running: past that, a
    new `/replays` look-up is turned away with a "busy" answer in its acknowledgement, because a
    queue that long means minutes of waiting. Commands that need no Tencent call still go through.
    """

    def __init__(
        self,
        limit: int = 1_000,
        *,
        workers: int = DEFAULT_WORKERS,
        on_finish: Callable[[], None] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.limit = limit
        self.workers = workers
        #: told when a piece of work ends (the edge times answers with it), in the work's context
        self._on_finish = on_finish
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
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    async def _run(self, work: Work) -> None:
        try:
            async with self._places:
                await work()
        except Exception:
            # Listeners answer their own failures; this is the last line, so nothing is silent.
            log.exception("work after an acknowledgement failed")
        finally:
            self._finished()

    def _started(self) -> None:
        self._count += 1
        self._idle.clear()

    def _finished(self) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()
        if self._on_finish is not None:
            self._on_finish()
