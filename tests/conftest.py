"""Shared fixtures: the fakes are pytest plugins so that every test can ask for them by name.

`TEST_EVENT_LOOP=uvloop` runs every async test on uvloop, the loop `python -m bot` runs on
(`bot.event_loop`); by default they run on asyncio's own.
"""

from __future__ import annotations

import os
from typing import Any

pytest_plugins = [
    "tests.fakes.tencent",
    "tests.fakes.slack",
    "tests.fakes.databases",
    "tests.fakes.core",
]

TEST_EVENT_LOOP = os.environ.get("TEST_EVENT_LOOP", "asyncio")

if TEST_EVENT_LOOP == "uvloop":
    import uvloop

    def pytest_asyncio_loop_factories(config: Any, item: Any) -> dict[str, Any]:
        return {"uvloop": uvloop.new_event_loop}
elif TEST_EVENT_LOOP != "asyncio":
    raise RuntimeError(f"TEST_EVENT_LOOP must be asyncio or uvloop, not {TEST_EVENT_LOOP!r}")
