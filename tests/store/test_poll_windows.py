"""How far the poller has read each creator's meeting history, on every backend: it only moves
forward, also when two instances advance it at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.storage import Storage, StorageRejected

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def test_a_window_end_is_none_until_advanced_then_only_moves_forward(
    storage: Storage,
) -> None:
    windows = storage.poll_windows
    assert await windows.window_end("alice") is None

    await windows.advance("alice", T0)
    assert await windows.window_end("alice") == T0
    assert await windows.window_end("bob") is None

    await windows.advance("alice", T0 - timedelta(minutes=5))
    assert await windows.window_end("alice") == T0
    later = T0 + timedelta(seconds=90, microseconds=5)
    await windows.advance("alice", later)
    assert await windows.window_end("alice") == later


async def test_two_instances_advancing_at_once_keep_the_latest(
    storage: Storage, other_storage: Storage
) -> None:
    ends = [T0 + timedelta(seconds=n) for n in range(20)]
    await asyncio.gather(
        *(
            (storage if n % 2 else other_storage).poll_windows.advance("alice", end)
            for n, end in enumerate(reversed(ends))
        )
    )
    assert await storage.poll_windows.window_end("alice") == ends[-1]
    assert await other_storage.poll_windows.window_end("alice") == ends[-1]


async def test_a_naive_window_end_is_refused(storage: Storage) -> None:
    with pytest.raises(StorageRejected):
        await storage.poll_windows.advance("alice", datetime(2026, 3, 1, 9, 0))
