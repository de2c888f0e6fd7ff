"""6. CPU per look-up: the server's CPU time for the whole job of a new look-up, over many of them
in one server process.

Each look-up is a signed `/replays <new meeting id>`: the ack, the creator check, the identity of the
asker, one signed Tencent call (300 ms), the creator learned and written, the answer rendered and
posted to `response_url`. `clients` clients each send their next command once the previous one is
answered on its `response_url`, for a bounded number of look-ups. A warm-up comes first (Slack
profiles, links, connection pools), then the measured look-ups; the figure is the server process's
CPU time (user + system, all threads, from /proc) from the first measured command until the bot is
idle again, divided by the number of look-ups.

With `--profile`, the same server then runs as many look-ups again under `py-spy record` (sampling
from outside the process; it pauses the process at each sample, so that run's CPU is reported
apart and is not the goal figure), and the top ten functions by own time are printed: where the
samples' innermost Python frame was, a C function counting for the Python function that called it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import Rig
from benchmarks.load import bounded
from benchmarks.scenarios import Goal, Outcome, Profile, Table

#: the goal: server CPU per look-up, the whole job
GOAL_MS = 1.5
CLIENTS = 50
ANSWER_TIMEOUT = 60.0
#: py-spy's samples per second (its default is 100)
SAMPLE_RATE = 250


@dataclass(frozen=True)
class Sizes:
    warmup: int
    lookups: int

    @classmethod
    def of(cls, profile: Profile) -> Sizes:
        return cls(100, 500) if profile.quick else cls(500, 5_000)


@dataclass(frozen=True)
class CpuRun:
    lookups: int
    seconds: float
    server_seconds: float
    #: of which the main thread's (the event loop's); the rest is the database threads'
    loop_seconds: float
    driver_seconds: float
    answers: Counter[str]

    @property
    def ms_per_lookup(self) -> float:
        return 1000 * self.server_seconds / self.lookups

    @property
    def loop_ms_per_lookup(self) -> float:
        return 1000 * self.loop_seconds / self.lookups

    @property
    def server_share(self) -> float:
        return 100 * self.server_seconds / self.seconds

    @property
    def driver_share(self) -> float:
        return 100 * self.driver_seconds / self.seconds


async def _lookups(rig: Rig, count: int, clients: int) -> CpuRun:
    """`count` new look-ups, `clients` at a time, each waiting for its answer; then until idle."""
    fake = rig.fake_slack
    answers: Counter[str] = Counter()

    async def lookup(i: int) -> float:
        reply = await rig.command(i)
        assert reply.response_url is not None
        arrived = await fake.answered(reply.response_url, ANSWER_TIMEOUT)
        answers[fake.answer_of(reply.response_url)] += 1
        return arrived

    assert rig.server is not None
    pid = rig.server.pid
    await rig.wait_idle()
    meter = rig.cpu_meter()
    loop0 = _main_thread_cpu_seconds(pid)
    began, driver0 = time.monotonic(), time.process_time()
    await bounded(count, clients, lookup)
    await rig.wait_idle()
    window = meter.read()
    return CpuRun(
        count,
        time.monotonic() - began,
        window.server_seconds,
        _main_thread_cpu_seconds(pid) - loop0,
        time.process_time() - driver0,
        answers,
    )


def _main_thread_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process's main thread alone (the task whose id is the pid)."""
    stat = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- profile: py-spy on the server's pid --------------------------------------------------------


def _py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: pip install py-spy")
    return found


async def _profiled(rig: Rig, count: int, clients: int, out: Path) -> CpuRun:
    assert rig.server is not None
    spy = await asyncio.create_subprocess_exec(
        _py_spy(),
        "record",
        "--pid",
        str(rig.server.pid),
        "--rate",
        str(SAMPLE_RATE),
        "--function",  # one entry per function, not per line
        # Only the thread holding the GIL: its CPU time. Without this py-spy counts the database
        # threads as busy while they wait for work; what they do use is measured per thread.
        "--gil",
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(1.0)  # attached before the first look-up
    try:
        return await _lookups(rig, count, clients)
    finally:
        with contextlib.suppress(ProcessLookupError):
            spy.send_signal(signal.SIGINT)  # py-spy writes its samples and exits
        _, err = await spy.communicate()
        if spy.returncode:
            print(err.decode(errors="replace"), file=sys.stderr)


_PREFIXES = ("site-packages/", "lib/python3.", str(Path(__file__).resolve().parent.parent) + "/")


def _short(frame: str) -> str:
    """`name (path:line)` with the path cut to what names it (package path or stdlib module)."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for prefix in _PREFIXES:
        if prefix in path:
            path = path.split(prefix, 1)[1]
            if prefix == "lib/python3.":
                path = path.split("/", 1)[-1]  # drop "11/"
            break
    return f"{name} ({path})"


def _package(frame: str) -> str:
    path = frame.partition(" (")[2].rstrip(")")
    return path.split("/", 1)[0].removesuffix(".py") or "?"


@dataclass(frozen=True)
class Samples:
    own: Counter[str]
    total: int


def read_samples(path: Path) -> Samples:
    """py-spy's raw (collapsed) output: `frame;frame;...;innermost count` per line."""
    own: Counter[str] = Counter()
    total = 0
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        innermost = stack.rsplit(";", 1)[-1]
        own[_short(innermost)] += int(count)
        total += int(count)
    return Samples(own, total)


def top_ten_table(samples: Samples, run: CpuRun, title: str) -> Table:
    rows = []
    for frame, count in samples.own.most_common(10):
        share = count / max(samples.total, 1)
        rows.append([f"`{frame}`", f"{100 * share:.1f}%", f"{share * run.ms_per_lookup:.3f}"])
    by_package: Counter[str] = Counter()
    for frame, count in samples.own.items():
        by_package[_package(frame)] += count
    packages = ", ".join(
        f"{name} {100 * count / max(samples.total, 1):.0f}%"
        for name, count in by_package.most_common(12)
    )
    return Table(
        title,
        ["function (own time)", "share of samples", "≈ ms per look-up"],
        rows,
        [
            f"py-spy, {SAMPLE_RATE} samples/s, {samples.total:,} samples of the server process "
            f"(every thread, idle ones left out) over {run.lookups:,} look-ups; "
            f"{run.ms_per_lookup:.2f} ms CPU per look-up under the profiler. Own time: the "
            "innermost Python frame of each sample (time in C counts for its Python caller). "
            f"By package: {packages}.",
        ],
    )


# --- the measurement ------------------------------------------------------------------------------


async def cpu_per_lookup(
    workdir: Path, profile: Profile, *, clients: int = CLIENTS, profile_server: bool = False
) -> Outcome:
    sizes = Sizes.of(profile)
    tables: list[Table] = []
    async with Rig("bot", workdir) as rig:
        await _lookups(rig, sizes.warmup, clients)
        run = await _lookups(rig, sizes.lookups, clients)
        if profile_server:
            out = workdir / f"py-spy-{os.getpid()}-{time.monotonic_ns()}.txt"
            spied = await _profiled(rig, sizes.lookups, clients, out)
            profiled = top_ten_table(
                read_samples(out),
                spied,
                f"6b. Top ten by own time, {sizes.lookups:,} new look-ups (py-spy)",
            )
        else:
            profiled = None
    with_replays = run.answers["replays"]
    tables.append(
        Table(
            f"6. CPU per look-up, the whole job ({sizes.lookups:,} new look-ups in one process, "
            f"{clients} clients each waiting for its answer)",
            [
                "look-ups",
                "took (s)",
                "look-ups/s",
                "server CPU (s)",
                "server CPU ms/look-up",
                "of which event loop",
                "server CPU",
                "driver CPU",
                "answered with replays",
            ],
            [
                [
                    f"{run.lookups:,}",
                    f"{run.seconds:.1f}",
                    f"{run.lookups / run.seconds:.0f}",
                    f"{run.server_seconds:.2f}",
                    f"{run.ms_per_lookup:.2f}",
                    f"{run.loop_ms_per_lookup:.2f}",
                    f"{run.server_share:.0f}%",
                    f"{run.driver_share:.0f}%",
                    f"{with_replays:,}/{run.lookups:,}",
                ]
            ],
            [
                f"After a warm-up of {sizes.warmup:,} look-ups in the same process. Each command "
                "names a meeting never asked before: ack, creator check, one Tencent call "
                "(300 ms), creator written, answer posted to response_url. Server CPU: user + "
                "system time of the bot process (all threads) from the first measured command "
                "until it was idle again; 'of which event loop': its main thread's share (the "
                "rest is SQLite's worker threads). Reproduce: `python -m benchmarks --only 6` "
                "(`--profile` for the top ten)."
            ],
        )
    )
    if profiled is not None:
        tables.append(profiled)
    ok = run.ms_per_lookup <= GOAL_MS and with_replays == run.lookups
    limit = ""
    if not ok:
        limit = (
            f"{run.lookups - with_replays} look-ups not answered with replays"
            if with_replays != run.lookups
            else "the bot's own work per look-up (`--only 6 --profile` shows where)"
        )
    goal = Goal(
        f"6. CPU per look-up ≤ {GOAL_MS:g} ms (the whole job, {sizes.lookups:,} new look-ups "
        "in one process)",
        f"{run.ms_per_lookup:.2f} ms",
        ok,
        limit,
    )
    return Outcome(tables, [goal])
