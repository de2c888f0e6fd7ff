"""The driver's side of a benchmark run: fakes, a population of linked users, the server process.

A `Rig` starts a fresh FakeSlack and FakeTencent (300 ms latency) in the driver process, seeds a new
SQLite database through the bot's own storage (users linked by an admin, optional channel
subscriptions), starts the server under test in its own process pinned to CPU 0 and gives a
`SlackSender` that signs requests like Slack. `/proc` gives the server's RSS and CPU time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import aiohttp
from aiohttp import web

from bot.core.records import LinkMethod
from bot.store import Database, open_database
from tests.fakes.slack import FakeSlack, SlackReply, SlackSender
from tests.fakes.tencent import NONCE_REPLAYED, REPLAY_WINDOW, FakeTencent, Rejection

Kind = Literal["bot", "bare"]

SIGNING_SECRET = "bench-signing-secret-5f1c0a9d"
WEBHOOK_TOKEN = "TokenTokenTokenTokenToken"
WEBHOOK_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TEAM_ID = "T0001"
TENCENT_LATENCY = 0.3
#: a budget (and fake quota) high enough never to be the limit, for the latency measurements
UNLIMITED = 1_000_000
SERVER_CPU = 0
DRIVER_CPU = 1

_REPLAYS = (
    {
        "video_url": "https://meeting.tencent.com/l/replay-a",
        "live_subject": "Weekly sync",
        "live_room_id": "206830819",
    },
    {
        "video_url": "https://meeting.tencent.com/l/replay-b",
        "live_subject": "Weekly sync (part 2)",
        "live_room_id": "112594341",
    },
)


_CPUS = len(os.sched_getaffinity(0))
_ROOT = Path(__file__).resolve().parent.parent


def cpu_count() -> int:
    """CPUs this run may use (read at import, before the driver pins itself to one)."""
    return _CPUS


def _log_tail(path: Path) -> str:
    return path.read_text()[-3000:]


def pin_driver() -> bool:
    """Keep the driver off the server's CPU when there are two or more."""
    if cpu_count() < 2:
        return False
    os.sched_setaffinity(0, {DRIVER_CPU})
    return True


def slack_user(i: int) -> str:
    return f"U{i:05d}"


def tencent_user(i: int) -> str:
    return f"t{i:05d}"


def channel_of(i: int) -> str:
    return f"C{i:05d}"


class BenchFakeTencent(FakeTencent):
    """The project's FakeTencent with the same nonce-replay rule checked in O(1).

    The fake scans every nonce of the last 5 minutes on each call (2 ms per call at 15,000 nonces),
    which would make the driver, not the bot, the bottleneck of a long run. Same rule: a
    (timestamp, nonce) pair seen within REPLAY_WINDOW seconds is refused.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._nonce_times: deque[tuple[float, tuple[str, str]]] = deque()

    def _check_replay(self, headers: Mapping[str, str], now: float) -> Rejection | None:
        seen = self._state.seen_nonces
        times = self._nonce_times
        while times and now - times[0][0] > REPLAY_WINDOW:
            when, old = times.popleft()
            if seen.get(old) == when:
                del seen[old]
        key = (headers["X-TC-Timestamp"], headers["X-TC-Nonce"])
        if key in seen:
            return Rejection(400, NONCE_REPLAYED, "X-TC-Nonce replayed")
        seen[key] = now
        times.append((now, key))
        return None


class TimedFakeSlack(FakeSlack):
    """The project's FakeSlack, noting when each `response_url` answer arrives.

    `answered(url)` waits for the first answer to one `response_url` and returns its arrival time
    (`time.monotonic()` when the POST reached the fake) without waking every other waiter, which
    `FakeSlack.wait_for_response` does and which would load the driver at 100 waiters.
    """

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[str, float] = {}
        self._waiters: dict[str, asyncio.Future[float]] = {}

    async def _response_url(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        response = await super()._response_url(request)
        token = request.match_info["token"]
        self.arrivals.setdefault(token, arrived)
        waiter = self._waiters.pop(token, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(self.arrivals[token])
        return response

    async def answered(self, response_url: str, timeout: float = 60.0) -> float:  # noqa: ASYNC109
        token = response_url.rsplit("/", 1)[-1]
        if token in self.arrivals:
            return self.arrivals[token]
        waiter = self._waiters.setdefault(token, asyncio.get_running_loop().create_future())
        async with asyncio.timeout(timeout):
            return await waiter

    def answer_of(self, response_url: str) -> str:
        """'replays', 'other' (an error or notice) or 'none' (nothing arrived yet)."""
        payloads = self.responses.get(response_url.rsplit("/", 1)[-1], [])
        if not payloads:
            return "none"
        return "replays" if any("replay-a" in json.dumps(p) for p in payloads) else "other"


@dataclass(frozen=True)
class Meeting:
    index: int
    meeting_id: str
    code: str
    owner: int


@dataclass
class World:
    """Slack users U00000.. linked to Tencent users t00000..; meetings made on demand."""

    fake_slack: FakeSlack
    fake_tencent: FakeTencent
    users: int
    meetings: list[Meeting] = field(default_factory=list)

    def populate(self) -> None:
        for i in range(self.users):
            email = f"user{i}@example.com"
            self.fake_slack.add_user(slack_user(i), email=email, name=f"user{i}")
            self.fake_tencent.add_user(tencent_user(i), email=email)
        self.fake_tencent.add_user("admin", email="admin@example.com")

    def new_meeting(self, owner: int) -> Meeting:
        """A new meeting of user `owner`, with two replays; IDs are 19 digits, codes 9."""
        index = len(self.meetings)
        meeting = Meeting(
            index=index,
            meeting_id=f"19{index:017d}",
            code=f"{800_000_000 + index}",
            owner=owner,
        )
        self.fake_tencent.add_meeting(
            meeting.meeting_id,
            meeting.code,
            subject=f"Meeting {index}",
            creator=tencent_user(owner),
            replays=list(_REPLAYS),
        )
        self.meetings.append(meeting)
        return meeting


def read_proc_status(pid: int, key: str) -> int:
    """A `kB` value of /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """The server under test (`python -m benchmarks.server`), pinned to CPU 0 when possible."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    async def start(cls, config: dict[str, Any], log_path: Path) -> ServerProcess:
        pin = cpu_count() >= 2

        def pin_to_server_cpu() -> None:  # runs in the child, before exec: threads inherit it
            if pin:
                os.sched_setaffinity(0, {SERVER_CPU})

        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.server",
                json.dumps(config),
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=_ROOT,
                preexec_fn=pin_to_server_cpu,
            )
        assert process.stdout is not None
        try:
            async with asyncio.timeout(60):
                line = (await process.stdout.readline()).decode()
        except TimeoutError:
            process.kill()
            raise RuntimeError(f"server did not start; see {log_path}") from None
        if not line.startswith("READY "):
            await process.wait()
            tail = _log_tail(log_path)
            raise RuntimeError(f"server failed to start ({line!r}); log tail:\n{tail}")
        return cls(process, int(line.split()[1]))

    def rss_kib(self) -> int:
        return read_proc_status(self.pid, "VmRSS")

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(15):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@dataclass
class CpuWindow:
    """CPU use of the server and of the driver over a measured window, as % of one core."""

    server: float
    driver: float
    #: CPU seconds the server used in the window
    server_seconds: float


class CpuMeter:
    def __init__(self, server: ServerProcess) -> None:
        self._server = server
        self._start = (time.monotonic(), server.cpu_seconds(), time.process_time())

    def read(self) -> CpuWindow:
        wall0, server0, driver0 = self._start
        wall = max(time.monotonic() - wall0, 1e-9)
        server = self._server.cpu_seconds() - server0
        return CpuWindow(
            server=100 * server / wall,
            driver=100 * (time.process_time() - driver0) / wall,
            server_seconds=server,
        )


class Rig:
    """Fakes + seeded database + server process + signed sender; `async with Rig(...) as rig:`."""

    def __init__(
        self,
        kind: Kind,
        workdir: Path,
        *,
        users: int = 200,
        calls_per_minute: int = UNLIMITED,
        subscribe_channels: bool = False,
        digest_delay: float = 0.05,
        log_level: str = "INFO",
    ) -> None:
        self.kind = kind
        self.workdir = workdir
        self.users = users
        self.calls_per_minute = calls_per_minute
        self.subscribe_channels = subscribe_channels
        self.digest_delay = digest_delay
        self.log_level = log_level
        self.fake_slack = TimedFakeSlack()
        self.fake_tencent = BenchFakeTencent(
            latency=TENCENT_LATENCY, calls_per_minute=calls_per_minute
        )
        self.world = World(self.fake_slack, self.fake_tencent, users)
        self._dir = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=workdir))
        self.database_url = f"sqlite+aiosqlite:///{self._dir / 'bot.db'}"
        self.log_path = self._dir / "server.log"
        self.server: ServerProcess | None = None
        self.session: aiohttp.ClientSession | None = None
        self.sender: SlackSender | None = None

    async def __aenter__(self) -> Rig:
        await self.fake_slack.start()
        await self.fake_tencent.start()
        self.world.populate()
        if self.kind == "bot":
            await self._seed_database()
        self.server = await ServerProcess.start(self._config(), self.log_path)
        # limit=0: the client pool must never be what queues requests at 200 concurrent
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.sender = SlackSender(self.session, self.server.url, SIGNING_SECRET, self.fake_slack)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.server is not None:
            await self.server.stop()
        if self.session is not None:
            await self.session.close()
        await self.fake_tencent.stop()
        await self.fake_slack.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def settings(self) -> dict[str, Any]:
        """The bot's settings, as tests/e2e/conftest.py passes them to `load_settings`."""
        credentials = self.fake_tencent.credentials
        return {
            "slack_bot_token": self.fake_slack.bot_token,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": self.fake_slack.api_url,
            "tencent_meeting_app_id": credentials.app_id,
            "tencent_meeting_secret_id": credentials.secret_id,
            "tencent_meeting_secret_key": credentials.secret_key,
            "tencent_meeting_api_url": self.fake_tencent.base_url,
            "tencent_meeting_operator_id": "admin",
            "tencent_meeting_calls_per_minute": self.calls_per_minute,
            "tencent_webhook_token": WEBHOOK_TOKEN,
            "tencent_webhook_aes_key": WEBHOOK_AES_KEY,
            "database_url": self.database_url,
            "bot_admins": "UADMIN",
            "digest_delay_seconds": self.digest_delay,
            "port": 0,
            "log_level": self.log_level,
        }

    def _config(self) -> dict[str, Any]:
        if self.kind == "bare":
            return {
                "kind": "bare",
                "token": self.fake_slack.bot_token,
                "signing_secret": SIGNING_SECRET,
                "api_url": self.fake_slack.api_url,
            }
        return {"kind": "bot", "settings": self.settings()}

    async def _seed_database(self) -> None:
        database = await open_database(self.database_url)
        storage = database.storage
        try:
            for i in range(self.users):
                await storage.links.save(
                    TEAM_ID,
                    slack_user(i),
                    tencent_user(i),
                    method=LinkMethod.ADMIN,
                    linked_by="UADMIN",
                )
                if self.subscribe_channels:
                    await storage.subscriptions.add(
                        TEAM_ID, channel_of(i), tencent_user(i), None, created_by=slack_user(i)
                    )
        finally:
            await database.close()

    async def open_database(self) -> Database:
        """The same database, for the driver to read job states (SQLite WAL: readers don't block)."""
        return await open_database(self.database_url, migrate=False)

    async def in_flight(self) -> int:
        """The bot's count of look-ups still running after their ack (0 for the bare app)."""
        if self.kind == "bare":
            return 0
        assert self.session is not None
        async with self.session.get(f"{self.url}/healthz") as response:
            return int((await response.json())["in_flight"])

    async def wait_idle(self, timeout: float = 180.0) -> float:  # noqa: ASYNC109
        """Until the bot has finished the work it does after acknowledging; returns the time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                if await self.in_flight() == 0:
                    return time.monotonic()
            await asyncio.sleep(0.05)
        raise TimeoutError("the bot is still busy")

    def cpu_meter(self) -> CpuMeter:
        assert self.server is not None
        return CpuMeter(self.server)

    async def command(self, number: int, text: str | None = None) -> SlackReply:
        """`/replays` from user `number % users` in their channel, about `text` (default: a new
        meeting of theirs, so one Tencent call after the ack); the reply has a response_url."""
        assert self.sender is not None
        user = number % self.users
        text = text or self.world.new_meeting(owner=user).meeting_id
        reply = await self.sender.slash_command(
            text, user_id=slack_user(user), channel_id=channel_of(user)
        )
        assert reply.response_url is not None
        return reply
