"""Group commit: many concurrent writers, one transaction per round.

Each caller waits for its own item to be durable, but items that arrive while a
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

    A failed batch fails all its callers with the error, except for the errors in `split_on`,
    which one bad item can cause (a value the database refuses): then the items are written again
    one by one, so that the bad one fails alone. (Retrying one by one on every error would turn an
    outage into a slow failing write per item.)
    """

    def __init__(
        self,
        write: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        split_on: tuple[type[Exception], ...] = (),
        max_batch: int = 200,
    ) -> None:
        self._write = write
        self._split_on = split_on
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        # A caller that goes away (a client hanging up) cancels only its own future: the writer
        # is a task of its own and writes the item all the same.
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_rounds())
        return await done

    async def _write_rounds(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    _settle(batch, await self._write([item for item, _ in batch]))
                except self._split_on:
                    for entry in batch:
                        await self._write_alone(entry)
                except Exception as error:
                    _fail(batch, error)
                batch = []
        except BaseException as error:  # cancelled at shutdown: nobody may wait forever
            _fail([*batch, *self._waiting], error)
            self._waiting.clear()
            raise
        finally:
            self._writer = None

    async def _write_alone(self, entry: tuple[Item, asyncio.Future[Result]]) -> None:
        try:
            _settle([entry], await self._write([entry[0]]))
        except Exception as error:
            _fail([entry], error)


def _settle(
    batch: Sequence[tuple[object, asyncio.Future[Result]]], results: Sequence[Result]
) -> None:
    for (_, done), result in zip(batch, results, strict=True):
        if not done.done():
            done.set_result(result)


def _fail(batch: Sequence[tuple[object, asyncio.Future[Result]]], error: BaseException) -> None:
    for _, done in batch:
        if done.done():
            continue
        if isinstance(error, asyncio.CancelledError):
            done.cancel()
        else:
            done.set_exception(error)
