"""`Memo`: loads shared by concurrent callers, entries kept for their own time, bounded size, and a
forget that overtakes a load under way."""

from __future__ import annotations

import asyncio

from bot.core.memo import Memo
from tests.fakes.core import Clock


def memo(clock: Clock, *, max_entries: int = 10) -> Memo[str, str | None]:
    return Memo(
        ttl=lambda value: 0.0 if value is None else 60.0, max_entries=max_entries, clock=clock
    )


async def test_concurrent_callers_share_one_load(clock: Clock) -> None:
    cache = memo(clock)
    loads = 0
    gate = asyncio.Event()

    async def load() -> str:
        nonlocal loads
        loads += 1
        await gate.wait()
        return "value"

    waiting = [asyncio.ensure_future(cache.fetch("k", load)) for _ in range(50)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == ["value"] * 50
    assert loads == 1


async def test_a_value_lives_its_time_and_none_is_not_kept(clock: Clock) -> None:
    cache = memo(clock)

    async def value() -> str:
        return "v"

    async def nothing() -> None:
        return None

    await cache.fetch("k", value)
    clock.now += 59
    assert cache.get("k") == "v"
    clock.now += 1
    assert cache.get("k") is None
    assert await cache.fetch("n", nothing) is None
    assert cache.get("n") is None and len(cache) == 0


async def test_fresh_skips_the_kept_value(clock: Clock) -> None:
    cache = memo(clock)
    answers = iter(["old", "new"])

    async def load() -> str:
        return next(answers)

    assert await cache.fetch("k", load) == "old"
    assert await cache.fetch("k", load) == "old"
    assert await cache.fetch("k", load, fresh=True) == "new"
    assert cache.get("k") == "new"


async def test_size_is_bounded(clock: Clock) -> None:
    cache = memo(clock, max_entries=3)
    for n in range(5):
        cache.put(str(n), "v")
    assert len(cache) == 3


async def test_a_forget_during_a_load_keeps_nothing_and_later_callers_load_again(
    clock: Clock,
) -> None:
    cache = memo(clock)
    gate = asyncio.Event()
    values = iter(["before the change", "after the change"])

    async def load() -> str:
        value = next(values)
        if value == "before the change":
            await gate.wait()
        return value

    slow = asyncio.ensure_future(cache.fetch("k", load))
    await asyncio.sleep(0)
    cache.forget("k")  # the value changed while it was being read
    # A caller after the change does not join the older read.
    assert await cache.fetch("k", load) == "after the change"
    gate.set()
    assert await slow == "before the change"
    assert cache.get("k") == "after the change"


async def test_a_failed_load_is_not_kept_and_every_waiter_sees_the_error(clock: Clock) -> None:
    cache = memo(clock)

    async def broken() -> str:
        await asyncio.sleep(0)
        raise RuntimeError("down")

    outcomes = await asyncio.gather(
        *(cache.fetch("k", broken) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
    assert cache.get("k") is None
