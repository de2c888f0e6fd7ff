"""The core depends on nothing at the edge: no database, HTTP or Slack library, no storage code."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.core

FORBIDDEN = (
    "sqlalchemy",
    "aiohttp",
    "slack_bolt",
    "slack_sdk",
    "asyncpg",
    "aiosqlite",
    "alembic",
    "bot.store",
    "bot.slack",
    "bot.web",
    "bot.app",
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_core_imports_no_edge() -> None:
    core = Path(bot.core.__file__).parent
    offending = {
        f"{path.name}: {name}"
        for path in sorted(core.rglob("*.py"))
        for name in imported_modules(path)
        if any(name == edge or name.startswith(f"{edge}.") for edge in FORBIDDEN)
    }
    assert not offending


def test_the_check_sees_an_edge_import(tmp_path: Path) -> None:
    # The check itself must be able to fail.
    sample = tmp_path / "sample.py"
    sample.write_text("import sqlalchemy as sa\nfrom bot.store.memory import memory_storage\n")
    assert {"sqlalchemy", "bot.store.memory"} <= imported_modules(sample)
