"""Which package may import which: the core depends on nothing at the edge, and no import runs
back up.

- `bot/core/` imports only the standard library (none of its network, process or database
  modules), `cachetools` and itself: no database, HTTP or Slack library, no pydantic (which
  validates wire data and settings at the edges), no edge package.
- The edges (`bot.meeting` for Tencent Meeting, `bot.store` for the database, `bot.slack` for
  Slack) implement or drive the core and import it, the shared leaves (`bot.config`, `bot.i18n`,
  `bot.metrics`, `bot.logs`, `bot.http_guard`, which import nothing but the core) and themselves;
  never one another, and never the composition root.
- Only the composition root (`bot.compose`, `bot.server`, `bot.clients`, `bot.web`,
  `bot.__main__`, `bot.check`, and `bot.probes`, which the root uses to ask Slack and Tencent
  whether they answer) wires edges together.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import bot

BOT = Path(bot.__file__).parent

#: what the core may import beyond the standard library and itself
CORE_LIBRARIES = {"cachetools"}
#: standard library modules that do I/O of their own: the core asks its edges instead
STDLIB_IO = {"socket", "ssl", "http", "urllib", "sqlite3", "subprocess", "smtplib", "ftplib"}
#: named so that the check's intent is plain; the allow-list above forbids them all already
FORBIDDEN_IN_CORE = (
    "bot.meeting",
    "bot.store",
    "bot.slack",
    "bot.web",
    "bot.compose",
    "bot.server",
    "bot.clients",
    "pydantic",
    "pydantic_settings",
    "sqlalchemy",
    "aiohttp",
    "slack_bolt",
    "slack_sdk",
    "asyncpg",
    "aiosqlite",
    "alembic",
    "cryptography",
)
EDGES = ("bot.meeting", "bot.store", "bot.slack")
LEAVES = ("bot.config", "bot.i18n", "bot.metrics", "bot.logs", "bot.http_guard")
ROOT = (
    "bot.compose",
    "bot.server",
    "bot.clients",
    "bot.web",
    "bot.__main__",
    "bot.check",
    "bot.probes",
)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports by absolute name (`from bot import x` counts as `bot.x`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            if node.module == "bot":
                names.update(f"bot.{alias.name}" for alias in node.names)
    return names


def within(name: str, packages: tuple[str, ...] | set[str]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(package: str) -> dict[str, set[str]]:
    """The `bot.*` and third-party modules each module of `package` imports."""
    folder = BOT.parent.joinpath(*package.split("."))
    paths = sorted(folder.rglob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]
    return {module_name(path): imported_modules(path) for path in paths}


def test_the_core_imports_no_edge_and_no_io_library() -> None:
    offending = {
        f"{module}: {name}"
        for module, names in imports_of("bot.core").items()
        for name in names
        if within(name, FORBIDDEN_IN_CORE)
        or name.split(".")[0] in STDLIB_IO
        or not (
            within(name, ("bot.core",))
            or name.split(".")[0] in sys.stdlib_module_names
            or name.split(".")[0] in CORE_LIBRARIES
        )
    }
    assert not offending


def test_no_import_runs_back_up() -> None:
    offending: set[str] = set()
    for edge in EDGES:
        others = tuple(e for e in EDGES if e != edge)
        for module, names in imports_of(edge).items():
            offending.update(
                f"{module}: {name}"
                for name in names
                if within(name, (*others, *ROOT))
                or (within(name, ("bot",)) and not within(name, (edge, "bot.core", *LEAVES)))
            )
    for leaf in LEAVES:
        for module, names in imports_of(leaf).items():
            offending.update(
                f"{module}: {name}"
                for name in names
                if within(name, ("bot",)) and not within(name, ("bot.core", leaf))
            )
    assert not offending


def test_the_checks_see_an_offending_import(tmp_path: Path) -> None:
    # The checks themselves must be able to fail.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import sqlalchemy as sa\nfrom bot.store.memory import memory_storage\nfrom bot import server\n"
    )
    assert {"sqlalchemy", "bot.store.memory", "bot.server"} <= imported_modules(sample)
    assert within("bot.meeting.models", FORBIDDEN_IN_CORE)
    assert not within("bot.meetings", ("bot.meeting",))
