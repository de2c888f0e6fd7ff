"""Finding replays without a code, and who may see them, end to end: the real bot against the fake
Slack and the fake Tencent (whose history query pages and refuses as Tencent's does)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.i18n import t
from tests.e2e.conftest import RunningBot, StartBot, announced
from tests.fakes.databases import empty_postgres_database
from tests.fakes.tencent import (
    SPEC_EXAMPLE_CREATOR,
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_MEETING_ID,
    SPEC_EXAMPLE_SUBJECT,
    FakeTencent,
)
from tests.fakes.tencent_webhook import meeting_end_event

NOW = datetime.now(UTC)


def meeting_id(n: int) -> str:
    return f"{1900000000000000100 + n}"


def add(fake: FakeTencent, n: int, creator: str, *, hours_ago: float, **kw: Any) -> None:
    end = NOW - timedelta(hours=hours_ago)
    fake.add_meeting(
        meeting_id(n),
        f"{700000000 + n}",
        subject=f"Meeting {n}",
        creator=creator,
        replays=[{"video_url": f"https://meeting.tencent.com/l/r{n}", "live_subject": f"R{n}"}],
        start=end - timedelta(hours=1),
        end=end,
        **kw,
    )


def text_of(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages, ensure_ascii=False)


def replays_calls(fake: FakeTencent) -> list[str]:
    return [c.path for c in fake.calls if c.path.endswith("/live_play/replays")]


def history_calls(fake: FakeTencent) -> list[str]:
    return [c.path for c in fake.calls if c.path.startswith("/v1/history/")]


async def test_the_empty_command_lists_my_own_meetings_with_replays(
    start_bot: StartBot, fake_tencent: FakeTencent
) -> None:
    for n, hours in ((1, 30), (2, 2), (3, 80)):
        add(fake_tencent, n, SPEC_EXAMPLE_CREATOR, hours_ago=hours)
    for n, hours in ((4, 1), (5, 5)):
        add(fake_tencent, n, "other", hours_ago=hours, attendees=[SPEC_EXAMPLE_CREATOR])
    bot = await start_bot()

    messages = await bot.ask("")

    sections = [b["text"]["text"] for b in messages[0]["blocks"] if b["type"] == "section"]
    listed = [s for s in sections if s.startswith("*Meeting ")]
    assert [s.split("*")[1] for s in listed] == ["Meeting 2", "Meeting 1", "Meeting 3"]
    assert t("recent_looked_at", "en", ended=5, days=7, shown=3) in text_of(messages)
    assert t("recent_hint", "en") in text_of(messages)
    assert len(history_calls(fake_tencent)) == 1
    assert sorted(replays_calls(fake_tencent)) == sorted(
        f"/v1/meetings/{meeting_id(n)}/live_play/replays" for n in range(1, 6)
    )

    calls = len(fake_tencent.calls)
    assert await bot.ask("") == messages
    assert len(fake_tencent.calls) == calls, "the second request is served from the cache"

    # The next day, another instance: the attended meetings cost no replays call.
    await bot.server.stop()
    before = len(replays_calls(fake_tencent))
    again = await start_bot()
    await again.ask("recent")
    asked = replays_calls(fake_tencent)[before:]
    assert sorted(asked) == sorted(
        f"/v1/meetings/{meeting_id(n)}/live_play/replays" for n in range(1, 4)
    )


async def test_thirty_meetings_two_pages_ten_shown_the_rest_announced(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    for n in range(30):
        add(fake_tencent, n, SPEC_EXAMPLE_CREATOR, hours_ago=n + 1)

    messages = await bot.ask("recent 30")

    assert len(history_calls(fake_tencent)) == 2
    assert len(replays_calls(fake_tencent)) == 10
    text = text_of(messages)
    for n in range(10):
        assert f"*Meeting {n}*" in text
    assert "*Meeting 10*" not in text
    rest = ", ".join(f"Meeting {n} (`{700000000 + n}`)" for n in range(10, 20)) + ", …"
    assert json.dumps(t("recent_more", "en", count=20, meetings=rest), ensure_ascii=False) in text


async def test_an_unlinked_person_gets_the_help(bot: RunningBot) -> None:
    bot.fake_slack.add_user("UNEW", email="nobody@example.com")
    messages = await bot.ask("", user_id="UNEW")
    assert t("status_not_linked", "en") in text_of(messages)


async def test_a_bad_number_of_days_is_explained(bot: RunningBot) -> None:
    messages = await bot.ask("recent 120")
    assert json.dumps(t("invalid_bad_days", "en", detail="120"))[1:-1] in text_of(messages)


async def known_meeting(bot: RunningBot) -> None:
    """The spec example meeting, its creator learned from `meeting.end`, and U1 linked to it."""
    status, _ = await bot.webhook(
        meeting_end_event(
            SPEC_EXAMPLE_MEETING_ID,
            SPEC_EXAMPLE_MEETING_CODE,
            SPEC_EXAMPLE_SUBJECT,
            SPEC_EXAMPLE_CREATOR,
        )
    )
    assert status == 200
    await bot.ask("whoami")  # U1 is found by email, and linked


def only_creator(locale: str = "en") -> str:
    ref = t("ref_code", "en", code=SPEC_EXAMPLE_MEETING_CODE)
    return t("lookup_only_creator", "en", ref=ref, owner="<@U1>")


#: no digest runs during these tests: its look-up would be a Tencent call of its own
NO_DIGEST = {"digest_delay_seconds": 3600}


async def test_visibility_decides_who_sees_a_known_meeting(start_bot: StartBot) -> None:
    bot = await start_bot(**NO_DIGEST)
    await known_meeting(bot)
    calls = len(replays_calls(bot.fake_tencent))

    refused = await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="U2")
    assert only_creator() in text_of(refused)
    assert len(replays_calls(bot.fake_tencent)) == calls, "no Tencent call"

    done = await bot.ask("visibility workspace")
    assert t("visibility_done_workspace", "en") in text_of(done)
    shown = await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="U2")
    assert "https://meeting.tencent.com/l/xxxx" in text_of(shown)
    assert t("card_owner", "en", owner="<@U1>") in text_of(shown)
    whoami = await bot.ask("whoami")
    assert t("visibility_status_workspace", "en") in text_of(whoami)

    bot.fake_slack.add_user("UGUEST", email="guest@example.com", is_restricted=True)
    guest = await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="UGUEST")
    ref = t("ref_code", "en", code=SPEC_EXAMPLE_MEETING_CODE)
    assert t("lookup_guest", "en", ref=ref, owner="<@U1>") in text_of(guest)

    await bot.ask("visibility me")
    again = await bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="U2")
    assert only_creator() in text_of(again)


@pytest.mark.parametrize(("visibility", "expected_calls"), [("me", 0), ("workspace", 1)])
async def test_three_hundred_people_on_one_known_meeting(
    start_bot: StartBot, visibility: str, expected_calls: int
) -> None:
    bot = await start_bot(**NO_DIGEST)
    await known_meeting(bot)
    await bot.ask(f"visibility {visibility}")
    people = [f"UP{n:03d}" for n in range(300)]
    for person in people:
        bot.fake_slack.add_user(person)
    calls = len(replays_calls(bot.fake_tencent))

    answers = await asyncio.gather(*(bot.ask(SPEC_EXAMPLE_MEETING_CODE, user_id=p) for p in people))

    assert len(replays_calls(bot.fake_tencent)) - calls == expected_calls
    for answer in answers:
        if visibility == "me":
            assert only_creator() in text_of(answer)
        else:
            assert "https://meeting.tencent.com/l/xxxx" in text_of(answer)


async def test_back_to_me_takes_effect_at_once_in_every_instance_on_postgresql(
    start_bot: StartBot, postgres_session_database: str | None
) -> None:
    if postgres_session_database is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    await empty_postgres_database(postgres_session_database)
    one = await start_bot(postgres_session_database, **NO_DIGEST)
    two = await start_bot(postgres_session_database, **NO_DIGEST)
    await known_meeting(one)
    await one.ask("visibility workspace")
    # Both instances have the answer in their caches now.
    assert "meeting.tencent.com/l/xxxx" in text_of(
        await one.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="U2")
    )
    assert "meeting.tencent.com/l/xxxx" in text_of(
        await two.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="U2")
    )

    async with announced(two, "visibility"):
        await one.ask("visibility me")

    assert only_creator() in text_of(await two.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="U2"))
    assert only_creator() in text_of(await one.ask(SPEC_EXAMPLE_MEETING_CODE, user_id="U2"))
