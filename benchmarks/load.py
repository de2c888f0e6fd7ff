"""Load shapes. Closed loop: N clients, each sending its next request as soon as the previous one is
answered. Open loop: requests arriving at a set rate (Poisson, seeded) whatever the answers do, as
commands from many people arrive in a real workspace.

Requests that start during the warm-up, or end after the measured window, are not counted;
throughput is the number of requests completed inside the window divided by its length.

The driver's garbage collector is paused while requests are timed: the fakes record every call, so
the driver's heap grows to millions of objects and a full collection stalls it (the load generator
and the fakes together) for up to half a second, which would be counted against the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

#: one request: (client number, its request number) → (seconds it took, whether it succeeded)
Request = Callable[[int, int], Awaitable[tuple[float, bool]]]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Latencies:
    samples: tuple[float, ...]
    errors: int
    window: float

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def throughput(self) -> float:
        return self.count / self.window if self.window > 0 else math.nan

    def p(self, q: float) -> float:
        return percentile(self.samples, q)


@contextlib.contextmanager
def driver_gc_paused() -> Iterator[None]:
    """Collect now, then no automatic collection in the driver until the block ends."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def closed_loop(
    clients: int, request: Request, *, warmup: float, duration: float
) -> Latencies:
    """Run `clients` clients back to back for `warmup + duration` seconds; measure the latter."""
    samples: list[float] = []
    errors = 0

    async def client(number: int, measure_from: float, stop: float) -> None:
        nonlocal errors
        sequence = 0
        while time.monotonic() < stop:
            began = time.monotonic()
            took, ok = await request(number, sequence)
            sequence += 1
            ended = time.monotonic()
            if began >= measure_from and ended <= stop:
                if ok:
                    samples.append(took)
                else:
                    errors += 1

    with driver_gc_paused():
        measure_from = time.monotonic() + warmup
        stop = measure_from + duration
        await asyncio.gather(*(client(n, measure_from, stop) for n in range(clients)))
    return Latencies(tuple(samples), errors, duration)


async def open_loop(rate: float, duration: float, request: Request, *, seed: int = 7) -> Latencies:
    """Requests arriving at `rate` per second on average for `duration` seconds; each is timed."""
    arrivals = random.Random(seed)
    samples: list[float] = []
    errors = 0

    async def one(number: int) -> None:
        nonlocal errors
        took, ok = await request(number, 0)
        if ok:
            samples.append(took)
        else:
            errors += 1

    with driver_gc_paused():
        tasks: list[asyncio.Future[None]] = []
        began = time.monotonic()
        at = 0.0
        while at < duration:
            await asyncio.sleep(max(0.0, began + at - time.monotonic()))
            tasks.append(asyncio.ensure_future(one(len(tasks))))
            at += arrivals.expovariate(rate)
        await asyncio.gather(*tasks)
    return Latencies(tuple(samples), errors, duration)


async def burst(count: int, request: Callable[[int], Awaitable[float]]) -> list[float]:
    """`count` requests at once; the time each took."""
    with driver_gc_paused():
        return list(await asyncio.gather(*(request(i) for i in range(count))))


async def bounded(
    count: int, concurrency: int, request: Callable[[int], Awaitable[float]]
) -> list[float]:
    """`count` requests, at most `concurrency` at a time, in order; the time each took."""
    results: list[float] = [math.nan] * count
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            results[i] = await request(i)

    with driver_gc_paused():
        await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return results
