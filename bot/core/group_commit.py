"""Group commit: many concurrent writers, one transaction per round.

Each caller waits for its own item to be durable, as before, but items that arrive while a
transaction is running share the next one instead of queueing for a transaction each. With nobody
else writing, an item is written at once, alone: no added latency when the app is quiet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`submit` an item, get its result from `write` (a call for a whole batch, results in order).

    When `write` fails, every caller of that batch gets the exception; later batches still run.
    """

    def __init__(
        self,
        write: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        max_batch: int = 200,
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_rounds())
        # shield: a caller that goes away (a client hanging up) must not cancel the others' write
        return await asyncio.shield(done)

    async def _write_rounds(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    results = await self._write([item for item, _ in batch])
                except Exception as error:  # each caller decides what a failed write means
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                    continue
                for (_, done), result in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(result)
        finally:
            self._writer = None
