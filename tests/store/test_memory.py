"""What only the in-memory storage promises (the rest is the conformance suite, which runs on it
like on the databases): it stays light, and each one is data of its own."""

from __future__ import annotations

import subprocess
import sys

from bot.core.records import LinkMethod
from bot.store.memory import memory_storage


def test_importing_it_loads_no_sqlalchemy_nor_database_driver() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bot.store.memory; print(' '.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    assert "bot.store.memory" in loaded
    heavy = {"sqlalchemy", "asyncpg", "aiosqlite", "alembic"}
    assert [name for name in loaded if name.split(".")[0] in heavy] == []


async def test_each_memory_storage_is_empty_and_its_own() -> None:
    one, two = memory_storage(), memory_storage()
    await one.links.save("T1", "U1", "alice", method=LinkMethod.ADMIN, linked_by="UADMIN")
    assert await one.events.first_sighting("k")

    assert await two.links.get("T1", "U1") is None
    assert await two.events.first_sighting("k")
