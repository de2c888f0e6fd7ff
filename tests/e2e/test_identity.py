"""Who is who, end to end: self-links verified by email, admin links, email matching at scale.

Everything goes through signed `/replays` commands to the real app; what is asserted is what the
person sees on the response_url, what Tencent was asked (FakeTencent.calls) and the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.e2e.conftest import RunningBot, StartBot
from tests.fakes.block_kit import button_urls
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import SPEC_EXAMPLE_MEETING_CODE, SPEC_EXAMPLE_REPLAYS, FakeTencent

SPEC_URL = SPEC_EXAMPLE_REPLAYS[0]["video_url"]
NOT_LINKED = "I don't know your Tencent Meeting account"
# How Slack delivers `/replays link @nine tester` with should_escape on.
NINE = "<@U9|nine>"


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(message) for message in messages)


def urls_of(messages: list[dict[str, Any]]) -> list[str]:
    return [url for message in messages for url in button_urls(message)]


def crawls(fake: FakeTencent) -> int:
    """Directory crawls started: each one begins with page 1 of /v1/users/list."""
    return sum(1 for c in fake.calls if c.path == "/v1/users/list" and c.query.get("page") == "1")


def audit(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "bot.core.identity")


@pytest.fixture
def nine(fake_slack: FakeSlack) -> str:
    """U9: a Slack user whose email no Tencent user has, so only an explicit link can help."""
    fake_slack.add_user("U9", email="nine@example.com", name="nine")
    return "U9"


async def test_self_link_to_someone_elses_userid_is_refused(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    refused = text_of(await bot.ask("link tester", user_id="U2"))
    assert "I can't link you to `tester`" in refused
    assert "email address isn't the one on your Slack profile" in refused

    # Nothing was stored: U2 is still who their email says (Tencent user `other`) ...
    assert "`other`: I found you by your email address" in text_of(
        await bot.ask("whoami", user_id="U2")
    )
    # ... so tester's replays stay tester's.
    messages = await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="U2")
    assert "Only the creator" in text_of(messages)
    assert SPEC_URL not in urls_of(messages)
    assert "refused self-link of U2 to tester: emails differ" in audit(caplog)


async def test_self_link_with_matching_email_is_accepted_and_shown(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert "Done: your Slack account is now linked to Tencent Meeting user `tester`" in text_of(
        await bot.ask("link tester")
    )
    whoami = text_of(await bot.ask("whoami"))
    assert "linked to Tencent Meeting user `tester`: you linked yourself" in whoami
    assert "U1 linked themselves to tester (email verified)" in audit(caplog)


async def test_admin_links_and_unlinks_others_and_nobody_else_can(
    bot: RunningBot, nine: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert NOT_LINKED in text_of(await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id=nine))

    # A non-admin can neither link nor unlink somebody else.
    for command in (f"link {NINE} other", f"unlink {NINE}"):
        assert "Only bot admins can link or unlink other people" in text_of(
            await bot.ask(command, user_id="U2")
        )
    assert NOT_LINKED in text_of(await bot.ask("whoami", user_id=nine))

    done = text_of(await bot.ask(f"link {NINE} tester", user_id="UADMIN"))
    assert "Done: <@U9> is now linked to Tencent Meeting user `tester`" in done
    assert SPEC_URL in urls_of(await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id=nine))
    whoami = text_of(await bot.ask("whoami", user_id=nine))
    assert "linked to Tencent Meeting user `tester`: bot admin <@UADMIN> linked you" in whoami

    # Still refused to a non-admin now that there is a link to remove.
    assert "Only bot admins" in text_of(await bot.ask(f"unlink {NINE}", user_id="U2"))
    assert SPEC_URL in urls_of(await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id=nine))

    undone = text_of(await bot.ask(f"unlink {NINE}", user_id="UADMIN"))
    assert "Done: <@U9> is no longer linked to Tencent Meeting" in undone
    assert NOT_LINKED in text_of(await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id=nine))

    log = audit(caplog)
    assert "refused: non-admin U2 tried to link U9 to other" in log
    assert "refused: non-admin U2 tried to unlink U9" in log
    assert "admin UADMIN linked U9 to tester" in log
    assert "UADMIN unlinked U9 (was tester)" in log


async def test_email_match_is_shown_as_such(bot: RunningBot) -> None:
    whoami = text_of(await bot.ask("whoami"))
    assert "You are Tencent Meeting user `tester`: I found you by your email address" in whoami


async def test_link_survives_a_restart(start_bot: StartBot, database_url: str, nine: str) -> None:
    first = await start_bot(database_url)
    assert "Done" in text_of(await first.ask(f"link {NINE} tester", user_id="UADMIN"))
    assert "Done" in text_of(await first.ask("link other", user_id="U2"))
    await first.server.stop()

    second = await start_bot(database_url)
    assert "bot admin <@UADMIN> linked you" in text_of(await second.ask("whoami", user_id=nine))
    assert "`other`: you linked yourself" in text_of(await second.ask("whoami", user_id="U2"))
    assert SPEC_URL in urls_of(await second.ask(SPEC_EXAMPLE_MEETING_CODE, user_id=nine))


def add_directory(fake_tencent: FakeTencent, fake_slack: FakeSlack, size: int) -> list[str]:
    """Fill the enterprise up to `size` users; every tenth gets a Slack account and a meeting.

    Returns the Slack user IDs, whose emails match their Tencent users' (in another case).
    """
    existing = 3  # tester, other, admin (see conftest)
    slack_users = []
    for n in range(size - existing):
        userid = f"d{n:04d}"
        fake_tencent.add_user(userid, email=f"{userid}@example.com")
        if n % 10 == 0:
            slack_id = f"UD{n:04d}"
            fake_slack.add_user(slack_id, email=f"{userid.upper()}@Example.com")
            fake_tencent.add_meeting(
                f"70000000000000{n:05d}",
                f"8{n:08d}",
                subject=f"Meeting of {userid}",
                creator=userid,
                replays=[
                    {
                        "live_room_id": str(n),
                        "live_subject": userid,
                        "video_url": f"https://meeting.tencent.com/l/{userid}",
                    }
                ],
            )
            slack_users.append(slack_id)
    return slack_users


@pytest.mark.slow
async def test_a_burst_of_unlinked_users_costs_one_directory_crawl(
    start_bot: StartBot, fake_tencent: FakeTencent, fake_slack: FakeSlack
) -> None:
    slack_users = add_directory(fake_tencent, fake_slack, 1000)
    assert len(slack_users) == 100
    bot = await start_bot()

    async def look_up(slack_id: str) -> list[dict[str, Any]]:
        n = int(slack_id[2:])
        return await bot.ask(f"8{n:08d}", user_id=slack_id)

    answers = await asyncio.gather(*(look_up(u) for u in slack_users))
    for slack_id, messages in zip(slack_users, answers, strict=True):
        userid = f"d{int(slack_id[2:]):04d}"
        assert f"https://meeting.tencent.com/l/{userid}" in urls_of(messages), slack_id

    assert crawls(fake_tencent) == 1
    pages = [c for c in fake_tencent.calls if c.path == "/v1/users/list"]
    assert len(pages) == 50  # 1,000 users, 20 a page, once
    assert {c.query["page_size"] for c in pages} == {"20"}

    # Everybody is linked now: the next round costs no directory call at all.
    await asyncio.gather(*(look_up(u) for u in slack_users[:10]))
    assert len([c for c in fake_tencent.calls if c.path == "/v1/users/list"]) == 50


async def test_an_email_not_in_the_directory_does_not_crawl_every_time(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    fake_slack.add_user("UNOPE", email="nope@example.com")
    for _ in range(3):
        messages = await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="UNOPE")
        assert NOT_LINKED in text_of(messages)
    # Concurrently too: one crawl, shared.
    await asyncio.gather(*(bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="UNOPE") for _ in range(5)))
    assert crawls(fake_tencent) == 1


async def test_directory_down_is_said_as_such_and_not_retried_by_every_caller(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    # Five unlinked people ask at once while Tencent answers nothing but 503s.
    for n in range(5):
        fake_slack.add_user(f"UX{n}", email=f"x{n}@example.com")
    fake_tencent.fail_next(100, status=503)
    answers = await asyncio.gather(
        *(bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id=f"UX{n}") for n in range(5))
    )
    for messages in answers:
        text = text_of(messages)
        assert "isn't answering" in text
        assert NOT_LINKED not in text  # linking would not help them: Tencent is down
    # One crawl attempt (with its own retries), not one per person queued behind it.
    assert crawls(fake_tencent) <= 3
    # whoami says the same kind of thing, without starting a crawl again right away.
    whoami = text_of(await bot.ask("whoami", user_id="UX0"))
    assert "couldn't look up your Tencent Meeting account just now" in whoami
    assert crawls(fake_tencent) <= 3
