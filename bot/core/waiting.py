"""Waiting on an `asyncio.Event` for at most a while: the pause of every loop that a stop ends
early, and every bounded wait for something to get done."""

from __future__ import annotations

import asyncio


async def wait_until_set(event: asyncio.Event, *, at_most: float) -> bool:
    """Wait until `event` is set, but no longer than `at_most` seconds; whether it was set."""
    try:
        await asyncio.wait_for(event.wait(), at_most)
    except TimeoutError:
        return False
    return True
