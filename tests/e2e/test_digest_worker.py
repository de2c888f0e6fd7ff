"""The digest worker itself, with a lease short enough to run out while a job is still running:
the real store, look-up, Slack poster and fakes, built as the app builds them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.compose import Running, build
from bot.core.digest_queue import DigestQueue, DigestTiming
from bot.core.digest_rules import DigestRules
from bot.core.records import EndedMeeting
from bot.slack.digest_sink import SlackDigestSink
from bot.slack.poster import SlackPoster
from bot.slack.profiles import SlackProfiles
from tests.e2e.conftest import bot_settings
from tests.e2e.test_digests import posted
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import FakeTencent

pytestmark = pytest.mark.slow  # waits for leases to run out

CHANNEL = "C0DIGEST"


@pytest_asyncio.fixture
async def services(
    fake_slack: FakeSlack, fake_tencent: FakeTencent, database_url: str, people: None
) -> AsyncIterator[Running]:
    built = await build(bot_settings(fake_slack, fake_tencent, database_url))
    try:
        yield built
    finally:
        await built.http.close()
        await built.database.close()


def digest_rules(
    services: Running, timing: DigestTiming, worker_id: str | None = None
) -> DigestRules:
    """Another worker on the same database, as a second instance would run it."""
    storage = services.database.storage
    sink = SlackDigestSink(SlackPoster(services.slack), SlackProfiles(services.slack))
    queue = DigestQueue(storage.digest_jobs, timing=timing, worker_id=worker_id)
    return DigestRules(storage, queue, services.lookup, sink)


def ended(key: str, meeting_id: str, code: str) -> EndedMeeting:
    return EndedMeeting(
        occurrence_key=key,
        meeting_id=meeting_id,
        meeting_code=code,
        subject="Weekly sync",
        creator_userid="tester",
    )


async def subscribed_meeting(
    services: Running, fake_tencent: FakeTencent, meeting_id: str, code: str
) -> None:
    """A meeting of `tester` with one replay, whose digests CHANNEL subscribed to."""
    fake_tencent.add_meeting(
        meeting_id,
        code,
        subject="Weekly sync",
        creator="tester",
        replays=[{"live_room_id": "1", "video_url": f"https://meeting.tencent.com/l/{code}"}],
    )
    subscriptions = services.database.storage.subscriptions
    await subscriptions.add("T1", CHANNEL, "tester", None, created_by="U1")


async def test_a_job_outliving_its_lease_is_not_run_twice_by_the_same_worker(
    services: Running, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    await subscribed_meeting(services, fake_tencent, "7100000000000000042", "420420420")
    digests = digest_rules(services, DigestTiming(delay=0, lease=0.3, poll=0.05))
    # Slack makes the post wait out a 429 for a second: the job's 0.3 s lease runs out meanwhile
    # and every round of the worker finds the job claimable again.
    fake_slack.rate_limit_next("chat.postMessage", 1, retry_after=1)
    await digests.meeting_ended(ended("lease-test", "7100000000000000042", "420420420"))
    stop = asyncio.Event()
    worker = asyncio.create_task(digests.run(stop))
    try:
        await fake_slack.wait_until(lambda: fake_slack.posts_to(CHANNEL), 10)
        await asyncio.sleep(1.5)  # room for a second run to post, were there one
    finally:
        stop.set()
        await worker

    assert len(fake_slack.posts_to(CHANNEL)) == 1
    [job] = await services.database.storage.digest_jobs.for_meeting("7100000000000000042")
    assert posted(job)  # and following the meeting for later replays


async def test_a_slow_job_keeps_its_lease_so_another_instance_does_not_take_it_up(
    services: Running, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    await subscribed_meeting(services, fake_tencent, "7100000000000000043", "430430430")
    # Two instances: the same database, each its own worker. The first looks for due jobs only
    # every 10 s (it would otherwise re-claim its own job the moment the lease ran out); the
    # second every 50 ms, ready to take up any job whose lease ran out.
    first, second = (
        digest_rules(services, DigestTiming(delay=0, lease=0.6, poll=poll), worker_id=name)
        for name, poll in (("first", 10.0), ("second", 0.05))
    )
    fake_slack.rate_limit_next("chat.postMessage", 1, retry_after=2)  # 2 s: beyond the lease
    await first.meeting_ended(ended("renew-test", "7100000000000000043", "430430430"))
    stop = asyncio.Event()
    running_first = asyncio.create_task(first.run(stop))
    await asyncio.sleep(0.3)  # the first has claimed the job; its post waits out the 429
    running_second = asyncio.create_task(second.run(stop))
    try:
        await fake_slack.wait_until(lambda: fake_slack.posts_to(CHANNEL), 10)
        await asyncio.sleep(1.0)  # room for a second post, were there one
    finally:
        stop.set()
        await asyncio.gather(running_first, running_second)

    assert len(fake_slack.posts_to(CHANNEL)) == 1
    [job] = await services.database.storage.digest_jobs.for_meeting("7100000000000000043")
    assert posted(job)  # and following the meeting for later replays
