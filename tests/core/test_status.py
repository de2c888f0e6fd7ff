"""`/replays status`'s use case and the heartbeat, on the in-memory storage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.core.records import Instance
from bot.core.status import ALIVE_SECONDS, Heartbeat, OpsStatus
from bot.store.memory.digest_jobs import MemoryDigestJobStore
from bot.store.memory.heartbeats import MemoryOpsStore

T0 = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


class Budget:
    calls_per_period = 300

    def in_window(self) -> int:
        return 42


class CountingStore(MemoryOpsStore):
    def __init__(self) -> None:
        super().__init__(MemoryDigestJobStore())
        self.webhook_writes = 0

    async def record_webhook(self, instance_id: str, outcome: str, at: datetime) -> None:
        self.webhook_writes += 1
        await asyncio.sleep(0.01)  # a database's round trip, during which more deliveries come
        await super().record_webhook(instance_id, outcome, at)


def me(name: str = "a") -> Instance:
    return Instance(name, "host", "1.0", T0, T0)


async def test_a_burst_of_deliveries_is_written_as_its_latest_not_one_write_each() -> None:
    store = CountingStore()
    clock = iter(T0 + timedelta(seconds=n) for n in range(100))
    heartbeat = Heartbeat(store, me(), clock=lambda: next(clock))
    await heartbeat.beat()
    heartbeat.webhook_received("accepted")
    await asyncio.sleep(0)  # the writer starts on the first
    for outcome in ("refused", "accepted", "unavailable"):
        heartbeat.webhook_received(outcome)
    await heartbeat.settled()

    last = await store.last_webhook()
    assert last is not None and last.outcome == "unavailable"
    assert store.webhook_writes == 2  # the first, then the latest of the rest once it was done


async def test_the_heartbeat_keeps_the_row_fresh_until_stopped() -> None:
    store = MemoryOpsStore(MemoryDigestJobStore())
    heartbeat = Heartbeat(store, me(), interval=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(heartbeat.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 1)
    (row,) = await store.alive(datetime.now(UTC) - timedelta(seconds=ALIVE_SECONDS))
    assert row.instance_id == "a"


async def test_the_report_shows_live_instances_and_each_systems_reachability() -> None:
    store = MemoryOpsStore(MemoryDigestJobStore())
    now = T0 + timedelta(minutes=1)
    await store.beat(Instance("a", "h1", "1.0", T0, now - timedelta(seconds=5)))
    await store.beat(Instance("b", "h2", "1.0", T0, now - timedelta(seconds=ALIVE_SECONDS + 1)))

    async def tencent() -> str:
        raise RuntimeError("credentials rejected")

    async def slack() -> str:
        return "auth.test ok"

    status = OpsStatus(
        store,
        instance_id="a",
        version="1.0",
        budget=Budget(),
        tencent=tencent,
        slack=slack,
        clock=lambda: now,
    )
    report = await status.report()
    assert [i.instance_id for i in report.instances] == ["a"]
    assert (report.budget_used, report.budget_limit) == (42, 300)
    assert (report.tencent.ok, report.tencent.detail) == (False, "credentials rejected")
    assert (report.slack.ok, report.slack.detail) == (True, "auth.test ok")
    assert report.backlog.due == 0 and report.oldest_due_age == 0
    assert report.last_webhook is None
