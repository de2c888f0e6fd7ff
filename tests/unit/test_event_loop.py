"""`bot.event_loop`: uvloop when it is installed, asyncio's loop otherwise."""

from __future__ import annotations

import asyncio
import builtins
import importlib.util
import os
from typing import Any

import pytest

from bot import event_loop


async def _which() -> str:
    await asyncio.sleep(0)
    return event_loop.loop_name()


def test_runs_on_uvloop_when_it_is_installed() -> None:
    if importlib.util.find_spec("uvloop") is None:
        pytest.skip("uvloop is not installed here")
    assert event_loop.run(_which()) == "uvloop"


def test_runs_on_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_uvloop(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "uvloop":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvloop)
    assert event_loop.run(_which()) == "asyncio"


async def test_the_tests_run_on_the_loop_asked_for() -> None:
    # asyncio's by default; uvloop with TEST_EVENT_LOOP=uvloop (tests/conftest.py)
    assert event_loop.loop_name() == os.environ.get("TEST_EVENT_LOOP", "asyncio")
