"""The Tencent directory cache: one crawl for everybody, bounded re-crawls, and failures that are
neither hidden nor retried by every caller. (Links kept in memory: `tests/core/test_identity.py`.)

The client is the real one, talking to FakeTencent; only the cache's clock is ours to move.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.core.identity import TencentDirectory, same_email
from bot.meeting.client import TencentMeetingClient
from bot.meeting.errors import UnavailableError
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
