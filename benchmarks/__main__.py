"""`python -m benchmarks [--quick] [--only 1,3] [--keep] [--profile]`: run the benchmarks, print
Markdown."""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.contention import people_during_digests
from benchmarks.cpu import cpu_per_lookup
from benchmarks.harness import cpu_count, pin_driver
from benchmarks.scenarios import (
    Goal,
    Outcome,
    Profile,
    Table,
    acknowledgement,
    answer_time,
    memory,
    tencent_calls,
    webhooks,
)

Scenario = Callable[[Path, Profile], Awaitable[Outcome]]
SCENARIOS: dict[str, Scenario] = {
    "1": acknowledgement,
    "2": answer_time,
    "3": tencent_calls,
    "4": webhooks,
    "5": memory,
    "6": cpu_per_lookup,
    "7": people_during_digests,
}


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render(tables: list[Table], goals: list[Goal], header: str) -> str:
    parts = [header]
    for table in tables:
        parts.append(f"### {table.title}\n\n{markdown_table(table.headers, table.rows)}")
        parts.extend(table.notes)
    goal_rows = [
        [goal.name, goal.measured, "met" if goal.met else "**not met**", goal.limit or "—"]
        for goal in goals
    ]
    parts.append(
        "### Goals\n\n" + markdown_table(["goal", "measured", "", "limited by"], goal_rows)
    )
    return "\n\n".join(parts) + "\n"


async def run(
    selected: list[str], profile: Profile, workdir: Path
) -> tuple[list[Table], list[Goal]]:
    tables: list[Table] = []
    goals: list[Goal] = []
    for key in selected:
        began = time.monotonic()
        print(f"running measurement {key} ...", file=sys.stderr, flush=True)
        outcome = await SCENARIOS[key](workdir, profile)
        print(f"  done in {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
        tables.extend(outcome.tables)
        goals.extend(outcome.goals)
    return tables, goals


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs (under a minute)")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help="comma-separated measurements to run (default: all)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="measurement 6 also runs the server under py-spy and prints its top ten functions",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and server logs")
    args = parser.parse_args(argv)
    selected = [key.strip() for key in args.only.split(",") if key.strip()]
    unknown = [key for key in selected if key not in SCENARIOS]
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(unknown)}")
    if args.profile:
        SCENARIOS["6"] = functools.partial(cpu_per_lookup, profile_server=True)
    logging.basicConfig(level=logging.WARNING)
    pinned = pin_driver()
    profile = Profile.fast() if args.quick else Profile.full()
    workdir = Path(tempfile.mkdtemp(prefix="replays-bench-"))
    began = time.monotonic()
    try:
        tables, goals = asyncio.run(run(selected, profile, workdir))
    finally:
        if args.keep:
            print(f"logs and databases kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    layout = (
        "server pinned to CPU 0, load generator + fakes pinned to CPU 1"
        if pinned
        else "one CPU: server and load generator share it"
    )
    header = (
        f"## Benchmarks ({'quick' if profile.quick else 'full'} run, "
        f"{time.monotonic() - began:.0f} s)\n\n"
        f"Python {platform.python_version()}, {cpu_count()} CPUs ({layout}); "
        "fake Tencent latency 300 ms; SQLite."
    )
    print(render(tables, goals, header))
    return 0 if all(goal.met for goal in goals) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
