"""Identity keeps found links in memory for a short time so that a look-up reads no database; a
link change made by this instance takes effect at once, one made by another instance (here: written
straight to the shared database) within `link_ttl`. The store is real, on every test backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.identity import ADMIN, Identity
from bot.meeting.client import TencentMeetingClient
from bot.slack.profiles import SlackProfiles
from bot.store import Store
from tests.fakes.slack import FakeSlack

TEAM = "T1"
TTL = 15.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = await Store.open(database_url)
    try:
        yield store
    finally:
        await store.close()


@pytest_asyncio.fixture
async def identity(
    store: Store, fake_slack: FakeSlack, tencent_client: TencentMeetingClient, clock: Clock
) -> Identity:
    profiles = SlackProfiles(AsyncWebClient(token="xoxb-test", base_url=fake_slack.api_url))
    return Identity(
        store,
        profiles,
        tencent_client,
        operator_id=None,
        admins=frozenset({"UADMIN"}),
        link_ttl=TTL,
        max_cached_links=3,
        clock=clock,
    )


async def test_another_instances_unlink_takes_effect_within_the_ttl(
    identity: Identity, store: Store, clock: Clock
) -> None:
    await identity.link_other(TEAM, "UADMIN", "U1", "alice")
    assert await identity.resolve(TEAM, "U1") == "alice"

    await store.delete_link(TEAM, "U1")  # another instance unlinks U1
    clock.now += TTL - 1
    assert await identity.resolve(TEAM, "U1") == "alice"  # served from memory, no database read
    clock.now += 1
    assert await identity.resolve(TEAM, "U1") is None


async def test_own_changes_take_effect_at_once(identity: Identity, clock: Clock) -> None:
    await identity.link_other(TEAM, "UADMIN", "U1", "alice")
    assert await identity.resolve(TEAM, "U1") == "alice"

    await identity.link_other(TEAM, "UADMIN", "U1", "bob")
    assert await identity.resolve(TEAM, "U1") == "bob"

    await identity.unlink(TEAM, "UADMIN", "U1")
    assert await identity.resolve(TEAM, "U1") is None


async def test_a_read_overlapping_an_unlink_does_not_bring_the_link_back(
    identity: Identity, store: Store
) -> None:
    await store.save_link(TEAM, "U1", "alice", method=ADMIN, linked_by="UADMIN")
    # The read and the unlink race; whichever order the database sees them in, once the unlink
    # has returned the link is gone.
    await asyncio.gather(identity.resolve(TEAM, "U1"), identity.unlink(TEAM, "UADMIN", "U1"))
    assert await identity.resolve(TEAM, "U1") is None


async def test_memory_holds_at_most_max_cached_links(
    identity: Identity, store: Store, clock: Clock
) -> None:
    for n in range(5):
        await store.save_link(TEAM, f"U{n}", f"t{n}", method=ADMIN, linked_by="UADMIN")
        assert await identity.resolve(TEAM, f"U{n}") == f"t{n}"
    # U0 was pushed out of memory by U3 and U4: another instance's unlink shows at once for it,
    # while U4, still in memory, is served from there until its time is up.
    await store.delete_link(TEAM, "U0")
    await store.delete_link(TEAM, "U4")
    assert await identity.resolve(TEAM, "U0") is None
    assert await identity.resolve(TEAM, "U4") == "t4"
    clock.now += TTL
    assert await identity.resolve(TEAM, "U4") is None
