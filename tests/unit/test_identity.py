"""Identity's two caches. The Tencent directory: one crawl for everybody, bounded re-crawls, and
failures that are neither hidden nor retried by every caller. Links: a found link is kept in memory
for `link_ttl` seconds so a look-up reads no database; this instance's own changes apply at once,
another instance's (here: written straight to the shared database) within `link_ttl`.

The client is the real one, talking to FakeTencent, and the store is real on every test backend;
only the caches' clock is ours to move.
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.identity import ADMIN, Identity, TencentDirectory, same_email
from bot.meeting.client import TencentMeetingClient
from bot.meeting.errors import UnavailableError
from bot.slack.profiles import SlackProfiles
from bot.store import Link, Store
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import FakeTencent


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient, clock: Clock
) -> TencentDirectory:
    fake_tencent.add_user("admin", email="admin@example.com")
    for n in range(45):  # with tester and admin: 47 users, three pages of 20
        fake_tencent.add_user(f"u{n}", email=f"u{n}@example.com")
    return TencentDirectory(
        tencent_client,
        "admin",
        ttl=3600,
        min_refresh_interval=300,
        retry_after_failure=30,
        clock=clock,
    )


def crawls(fake: FakeTencent) -> int:
    return sum(1 for c in fake.calls if c.path == "/v1/users/list" and c.query.get("page") == "1")


async def test_concurrent_look_ups_share_one_crawl(
    directory: TencentDirectory, fake_tencent: FakeTencent
) -> None:
    emails = [f"U{n}@Example.com" for n in range(45)] + ["tester@example.com"]
    found = await asyncio.gather(*(directory.find_by_email(e) for e in emails))
    assert [user.userid for user in found if user] == [f"u{n}" for n in range(45)] + ["tester"]
    assert crawls(fake_tencent) == 1
    assert len([c for c in fake_tencent.calls if c.path == "/v1/users/list"]) == 3


async def test_unknown_emails_recrawl_at_most_once_per_interval(
    directory: TencentDirectory, fake_tencent: FakeTencent, clock: Clock
) -> None:
    assert await directory.find_by_email("new@example.com") is None
    for _ in range(10):
        clock.now += 20
        assert await directory.find_by_email("new@example.com") is None
    assert crawls(fake_tencent) == 1

    # Somebody joins the enterprise; after the interval the next miss looks again and finds them.
    fake_tencent.add_user("newcomer", email="new@example.com")
    clock.now += 300
    user = await directory.find_by_email("new@example.com")
    assert user is not None and user.userid == "newcomer"
    assert crawls(fake_tencent) == 2


async def test_known_emails_are_served_from_the_copy_until_it_expires(
    directory: TencentDirectory, fake_tencent: FakeTencent, clock: Clock
) -> None:
    await directory.find_by_email("u1@example.com")
    clock.now += 3599
    await directory.find_by_email("u2@example.com")
    assert crawls(fake_tencent) == 1
    clock.now += 1
    await directory.find_by_email("u2@example.com")
    assert crawls(fake_tencent) == 2


async def test_a_failed_first_crawl_is_reported_and_not_retried_by_every_caller(
    directory: TencentDirectory, fake_tencent: FakeTencent, clock: Clock
) -> None:
    fake_tencent.fail_next(3, status=503)  # as many as the client's attempts at page 1
    outcomes = await asyncio.gather(
        *(directory.find_by_email(f"u{n}@example.com") for n in range(10)),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, UnavailableError) for outcome in outcomes)
    # One crawl and its own retries, not one more per caller queued behind it.
    assert crawls(fake_tencent) == 3

    # Tencent is back, but the failure is remembered for a while ...
    clock.now += 29
    with pytest.raises(UnavailableError):
        await directory.find_by_email("u1@example.com")
    assert crawls(fake_tencent) == 3
    # ... and then tried again.
    clock.now += 1
    user = await directory.find_by_email("u1@example.com")
    assert user is not None and user.userid == "u1"


async def test_a_failed_refresh_keeps_the_old_copy(
    directory: TencentDirectory, fake_tencent: FakeTencent, clock: Clock
) -> None:
    assert await directory.find_by_email("u3@example.com") is not None
    clock.now += 3600  # expired
    fake_tencent.fail_next(3, status=503)
    user = await directory.find_by_email("u3@example.com")
    assert user is not None and user.userid == "u3"


def test_same_email_ignores_case_and_spaces_but_not_emptiness() -> None:
    assert same_email(" Tester@Example.COM ", "tester@example.com")
    assert not same_email("tester@example.com", "tester@example.org")
    assert not same_email("", "")
    assert not same_email(None, "a@b.c")


# --- links in memory ---------------------------------------------------------------------------

TEAM = "T1"
TTL = 15.0


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


class HeldReads(Store):
    """The real store, except that a link read, once done, is handed over only when `release` is
    set: a read that started before an unlink and returns after it (a slow database, a busy
    event loop), made to happen every time."""

    release: asyncio.Event
    read_done: asyncio.Event

    async def get_link(self, team_id: str, slack_user_id: str) -> Link | None:
        link = await super().get_link(team_id, slack_user_id)
        self.read_done.set()
        await self.release.wait()
        return link


async def test_a_read_overlapping_an_unlink_does_not_bring_the_link_back(
    database_url: str, fake_slack: FakeSlack, tencent_client: TencentMeetingClient, clock: Clock
) -> None:
    store = await HeldReads.open(database_url)
    store.release, store.read_done = asyncio.Event(), asyncio.Event()
    try:
        profiles = SlackProfiles(AsyncWebClient(token="xoxb-test", base_url=fake_slack.api_url))
        identity = Identity(
            store, profiles, tencent_client, operator_id=None, admins=frozenset(), clock=clock
        )
        await store.save_link(TEAM, "U1", "alice", method=ADMIN, linked_by="U1")
        slow = asyncio.ensure_future(identity.resolve(TEAM, "U1"))
        await store.read_done.wait()  # it has read "alice" ...
        await identity.unlink(TEAM, "U1")  # ... U1 unlinks themselves ...
        store.release.set()
        assert await slow == "alice"  # ... and the read that began before answers with it,
        assert await identity.resolve(TEAM, "U1") is None  # but keeps nothing in memory.
    finally:
        await store.close()


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
