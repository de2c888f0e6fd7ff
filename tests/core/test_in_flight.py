"""The pool that runs the work after acknowledgements: bounded, in order, in the submitter's
context, and waited for at shutdown."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time

import pytest

from bot.core.in_flight import InFlight

who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


async def test_no_more_than_the_workers_run_at_once_and_the_rest_wait_in_order() -> None:
    pool = InFlight(workers=3)
    release = asyncio.Event()
    running: list[int] = []
    started: list[int] = []
    most = 0

    def work(number: int):
        async def run() -> None:
            nonlocal most
            started.append(number)
            running.append(number)
            most = max(most, len(running))
            await release.wait()
            running.remove(number)

        return run

    for number in range(10):
        pool.submit(work(number))
    await asyncio.sleep(0.01)
    assert started == [0, 1, 2] and pool.count == 10
    release.set()
    assert await pool.drain(1)
    assert most == 3 and started == list(range(10)) and pool.count == 0


async def test_full_counts_queued_and_running_work() -> None:
    pool = InFlight(limit=4, workers=1)
    gate = asyncio.Event()
    for _ in range(3):
        pool.submit(gate.wait)
    assert not pool.full
    pool.submit(gate.wait)
    assert pool.full
    gate.set()
    assert await pool.drain(1)
    assert not pool.full


async def test_work_runs_in_the_submitters_context() -> None:
    pool = InFlight()
    seen: list[str] = []

    async def work() -> None:
        seen.append(who.get())

    who.set("alice")
    pool.submit(work)
    who.set("bob")
    pool.submit(work)
    assert await pool.drain(1)
    assert seen == ["alice", "bob"]


async def test_a_failure_is_logged_and_the_pool_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    pool = InFlight(workers=1)
    done: list[str] = []

    async def fails() -> None:
        raise RuntimeError("boom")

    async def works() -> None:
        done.append("ok")

    with caplog.at_level(logging.ERROR, logger="bot.core.in_flight"):
        pool.submit(fails)
        pool.submit(works)
        assert await pool.drain(1)
    assert done == ["ok"]
    assert "work after an acknowledgement failed" in caplog.text


async def test_drain_says_false_while_work_remains() -> None:
    pool = InFlight()
    gate = asyncio.Event()
    pool.submit(gate.wait)
    assert not await pool.drain(0.05)
    gate.set()
    assert await pool.drain(1)


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="workers"):
        InFlight(workers=0)


async def test_while_the_loop_is_busy_new_work_waits_but_never_stops() -> None:
    pool = InFlight(busy_turn=0.003, max_hold=0.05)
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def hog(until: float) -> None:
        # Requests queueing for the loop: every turn of it takes 5 ms.
        while loop.time() < until:
            time.sleep(0.005)  # noqa: ASYNC251 (the point: a turn that blocks the loop)
            await asyncio.sleep(0)

    async def work() -> None:
        starts.append(loop.time())

    began = loop.time()
    hogging = asyncio.ensure_future(hog(began + 0.4))
    await asyncio.sleep(0)
    for _ in range(4):
        pool.submit(work)
    await hogging
    # Held back while the loop was busy, one at a time, each within max_hold of the last.
    assert len(starts) >= 3
    gaps = [later - earlier for earlier, later in zip([began, *starts], starts, strict=False)]
    assert all(0.03 <= gap <= 0.12 for gap in gaps[: len(starts)]), gaps

    # A quiet loop: work starts at once.
    quiet = loop.time()
    pool.submit(work)
    assert await pool.drain(1)
    assert starts[-1] - quiet < 0.02
