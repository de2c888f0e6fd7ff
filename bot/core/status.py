"""How the app is doing, for the people who run it: which instances are alive, the digest backlog,
the Tencent budget, the last webhook, and whether Tencent and Slack answer (`/replays status`).

Instances know of each other only through the database: each upserts a heartbeat row every
`HEARTBEAT_SECONDS` (`Heartbeat`) and counts as alive while its row is younger than
`ALIVE_SECONDS`. The last Tencent webhook delivery an instance received is kept in its row as well,
so the status on any instance shows the newest delivery wherever it arrived. The rows are kept by
`bot.core.storage.OpsStore`, which `Storage.ops` hands out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.clock import utcnow
from bot.core.records import DigestBacklog, Instance, WebhookNote
from bot.core.storage import OpsStore, StorageRejected, StorageUnavailable
from bot.core.waiting import wait_until_set

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
#: three missed heartbeats and an instance is taken for gone
ALIVE_SECONDS = 30.0
#: rows of instances gone this long are deleted (a restart starts a new row each time)
FORGET_AFTER = timedelta(days=1)
#: how long a reachability probe may take before it counts as a failure
PROBE_TIMEOUT = 5.0


class BudgetView(Protocol):
    """What the status reads from the Tencent call budget (`bot.meeting.quota.CallBudget`)."""

    calls_per_period: int

    def in_window(self) -> int: ...


#: a reachability check: returns a short detail when the system answers, raises when it does not
Probe = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class Reachability:
    ok: bool
    detail: str


@dataclass(frozen=True)
class StatusReport:
    version: str
    this_instance: str
    instances: list[Instance]
    backlog: DigestBacklog
    oldest_due_age: float
    budget_used: int
    budget_limit: int
    last_webhook: WebhookNote | None
    tencent: Reachability
    slack: Reachability
    now: datetime = field(default_factory=utcnow)


class Heartbeat:
    """This instance's row: refreshed every `interval` while `run` runs, and the last webhook
    delivery noted in it as deliveries arrive (written in the background, latest value wins, so a
    burst of deliveries costs one write at a time, never one each in the webhook's answer)."""

    def __init__(
        self,
        store: OpsStore,
        instance: Instance,
        *,
        interval: float = HEARTBEAT_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self.instance = instance
        self._interval = interval
        self._clock = clock
        self._webhook: tuple[str, datetime] | None = None
        self._writer: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        now = self._clock()
        await self._store.beat(
            Instance(
                instance_id=self.instance.instance_id,
                host=self.instance.host,
                version=self.instance.version,
                started_at=self.instance.started_at,
                last_seen=now,
            )
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Beat every `interval` until `stop` is set; a failed beat is logged and retried."""
        beats = 0
        while not stop.is_set():
            try:
                await self.beat()
                if beats % 360 == 0:  # about hourly
                    await self._store.forget_before(self._clock() - FORGET_AFTER)
                beats += 1
            except StorageUnavailable as error:
                # The outage itself is the storage's one WARNING (bot.core.outage).
                log.info("heartbeat not written: %r", error)
            except StorageRejected as error:
                log.warning("heartbeat not written: %r", error)
            await wait_until_set(stop, at_most=self._interval)
        await self.settled()

    def webhook_received(self, outcome: str) -> None:
        """Note a delivery (called from the webhook's answer path, so it never waits)."""
        self._webhook = (outcome, self._clock())
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_webhooks(), name="last webhook")

    async def settled(self) -> None:
        """Until the deliveries noted so far are written (or failed to be)."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _write_webhooks(self) -> None:
        while self._webhook is not None:
            (outcome, at), self._webhook = self._webhook, None
            try:
                await self._store.record_webhook(self.instance.instance_id, outcome, at)
            except (StorageUnavailable, StorageRejected) as error:
                log.warning("last webhook delivery not recorded: %r", error)


class OpsStatus:
    """`/replays status`: what an admin sees about the whole app, from this instance."""

    def __init__(
        self,
        store: OpsStore,
        *,
        instance_id: str,
        version: str,
        budget: BudgetView,
        tencent: Probe,
        slack: Probe,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._instance_id = instance_id
        self._version = version
        self._budget = budget
        self._tencent = tencent
        self._slack = slack
        self._clock = clock

    async def report(self) -> StatusReport:
        now = self._clock()
        # The probes and the queries run together: the card waits for the slowest, not the sum.
        tencent, slack, instances, backlog, webhook = await asyncio.gather(
            _reach(self._tencent),
            _reach(self._slack),
            self._store.alive(now - timedelta(seconds=ALIVE_SECONDS)),
            self._store.digest_backlog(now),
            self._store.last_webhook(),
        )
        return StatusReport(
            version=self._version,
            this_instance=self._instance_id,
            instances=instances,
            backlog=backlog,
            oldest_due_age=backlog.oldest_due_age(now),
            budget_used=self._budget.in_window(),
            budget_limit=self._budget.calls_per_period,
            last_webhook=webhook,
            tencent=tencent,
            slack=slack,
            now=now,
        )


async def _reach(probe: Probe) -> Reachability:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            return Reachability(True, await probe())
    except TimeoutError:
        return Reachability(False, f"no answer within {PROBE_TIMEOUT:g} s")
    except Exception as error:
        return Reachability(False, str(error) or type(error).__name__)
