"""Identity resolution on the in-memory storage: the stored link, an email match (stored as a
link), links kept in memory for their time, own changes at once, and a directory that cannot be
read said as such."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from bot.core.failures import Failure, MeetingServiceError
from bot.core.identity import Identity, IdentityUnavailable, LinkOutcome, TencentDirectory
from bot.core.meetings import DirectoryUser
from bot.core.records import Link, LinkMethod
from bot.core.storage import Storage
from tests.fakes.core import Clock

TEAM = "T1"
TTL = 15.0


@dataclass
class People:
    """Slack emails and Tencent's users, as the two directories would answer."""

    slack_emails: dict[str, str] = field(default_factory=dict)
    tencent_users: list[DirectoryUser] = field(default_factory=list)
    crawls: int = 0
    down: bool = False

    async def email_of(self, user_id: str) -> str | None:
        return self.slack_emails.get(user_id)

    async def user_detail(self, userid: str, *, operator_id: str) -> DirectoryUser:
        for user in self.tencent_users:
            if user.userid == userid:
                return user
        raise MeetingServiceError(Failure.USER_NOT_REGISTERED, "no such user")

    async def list_users(self, *, operator_id: str) -> list[DirectoryUser]:
        self.crawls += 1
        if self.down:
            raise MeetingServiceError(Failure.UNREACHABLE, "Tencent is down")
        return list(self.tencent_users)


@pytest.fixture
def people() -> People:
    return People(
        slack_emails={"U1": "alice@example.com", "U2": "bob@example.com"},
        tencent_users=[DirectoryUser(userid="alice", email="Alice@Example.com")],
    )


def identity(storage: Storage, people: People, clock: Clock, *, operator: bool = True) -> Identity:
    return Identity(
        storage.links,
        people,
        people,
        operator_id="admin" if operator else None,
        admins=frozenset({"UADMIN"}),
        directory=TencentDirectory(people, "admin", clock=clock) if operator else None,
        link_ttl=TTL,
        clock=clock,
    )


async def test_an_email_match_is_found_once_and_stored(
    storage: Storage, people: People, clock: Clock
) -> None:
    who = identity(storage, people, clock)
    assert await who.resolve(TEAM, "U1") == "alice"
    link = await storage.links.get(TEAM, "U1")
    assert link is not None and link.method is LinkMethod.EMAIL_MATCH
    assert await who.resolve(TEAM, "U2") is None  # bob has no Tencent account
    assert people.crawls == 1


async def test_a_directory_that_cannot_be_read_is_said_as_such(
    storage: Storage, people: People, clock: Clock
) -> None:
    people.down = True
    who = identity(storage, people, clock)
    with pytest.raises(IdentityUnavailable):
        await who.resolve(TEAM, "U1")
    # A stored link needs no directory at all.
    await storage.links.save(TEAM, "U1", "alice", method=LinkMethod.ADMIN, linked_by="UADMIN")
    assert await who.resolve(TEAM, "U1") == "alice"


async def test_another_instances_unlink_takes_effect_within_the_ttl(
    storage: Storage, people: People, clock: Clock
) -> None:
    who = identity(storage, people, clock, operator=False)
    await who.link_other(TEAM, "UADMIN", "U1", "alice")
    assert await who.resolve(TEAM, "U1") == "alice"
    await storage.links.delete(TEAM, "U1")  # another instance unlinks U1
    clock.now += TTL - 1
    assert await who.resolve(TEAM, "U1") == "alice"  # from memory, no storage read
    clock.now += 1
    assert await who.resolve(TEAM, "U1") is None


async def test_own_changes_take_effect_at_once(
    storage: Storage, people: People, clock: Clock
) -> None:
    who = identity(storage, people, clock, operator=False)
    await who.link_other(TEAM, "UADMIN", "U1", "alice")
    assert await who.resolve(TEAM, "U1") == "alice"
    await who.link_other(TEAM, "UADMIN", "U1", "bob")
    assert await who.resolve(TEAM, "U1") == "bob"
    assert (await who.unlink(TEAM, "UADMIN", "U1")).outcome is LinkOutcome.UNLINKED
    assert await who.resolve(TEAM, "U1") is None


async def test_a_read_overlapping_an_unlink_does_not_bring_the_link_back(
    storage: Storage, people: People, clock: Clock
) -> None:
    links = storage.links
    read_done, release = asyncio.Event(), asyncio.Event()

    class HeldReads:
        """The storage's links, except that a read, once done, is handed over only on `release`:
        a read that started before an unlink and returns after it, made to happen every time."""

        def __getattr__(self, name: str) -> object:
            return getattr(links, name)

        async def get(self, team_id: str, slack_user_id: str) -> Link | None:
            link = await links.get(team_id, slack_user_id)
            read_done.set()
            await release.wait()
            return link

    who = Identity(HeldReads(), people, people, operator_id=None, admins=frozenset(), clock=clock)  # type: ignore[arg-type]
    await links.save(TEAM, "U1", "alice", method=LinkMethod.ADMIN, linked_by="U1")
    slow = asyncio.ensure_future(who.resolve(TEAM, "U1"))
    await read_done.wait()  # it has read "alice" ...
    unlinking = asyncio.ensure_future(who.unlink(TEAM, "U1"))  # ... U1 unlinks themselves ...
    await asyncio.sleep(0)
    release.set()
    await unlinking
    assert await slow == "alice"  # ... and the read that began before answers with it,
    assert await who.resolve(TEAM, "U1") is None  # but keeps nothing in memory.


async def test_a_self_link_needs_the_same_email_and_a_free_userid(
    storage: Storage, people: People, clock: Clock
) -> None:
    who = identity(storage, people, clock)
    assert (await who.link_self(TEAM, "U2", "alice")).outcome is LinkOutcome.EMAIL_MISMATCH
    assert (await who.link_self(TEAM, "U1", "nobody")).outcome is LinkOutcome.UNKNOWN_USERID
    assert (await who.link_self(TEAM, "U1", "alice")).outcome is LinkOutcome.LINKED
    # Another Slack account with the same email cannot take alice's userid over.
    people.slack_emails["U3"] = "alice@example.com"
    assert (await who.link_self(TEAM, "U3", "alice")).outcome is LinkOutcome.TAKEN
    assert (await who.link_other(TEAM, "U3", "U9", "alice")).outcome is LinkOutcome.NOT_ADMIN
