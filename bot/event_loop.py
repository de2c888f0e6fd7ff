"""The event loop the bot's process runs on: uvloop where it is installed (a dependency, on every
platform it supports), asyncio's own otherwise.

uvloop serves the same aiohttp server, Bolt app and clients with less CPU per request: its loop,
sockets and transports are written in C on libuv. Measured over 5,000 new look-ups in one process
(`python -m benchmarks --only 6`) it took about a seventh off the server's CPU per look-up. Nothing
in the bot depends on which loop runs it: the tests run it in-process on asyncio's loop, and as
`python -m bot` subprocesses on uvloop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on uvloop when it can be imported."""
    try:
        import uvloop
    except ImportError:  # a platform uvloop does not support (Windows): asyncio's loop
        return asyncio.run(main)
    return uvloop.run(main)


def loop_name() -> str:
    """Which loop runs the current task: "uvloop" or "asyncio"."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"
