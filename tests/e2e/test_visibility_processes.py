"""Visibility across real `python -m bot` processes on one PostgreSQL: a creator who turns their
meetings back to `me` through one process is honoured by the other on the very next look-up."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import SIGNING_SECRET
from tests.e2e.test_digest_processes import BotProcess, Launch, meeting_end
from tests.e2e.test_digest_processes import launch as launch  # the fixture
from tests.e2e.test_discovery import only_creator, text_of
from tests.fakes.databases import empty_postgres_database
from tests.fakes.slack import FakeSlack, SlackSender
from tests.fakes.tencent import (
    SPEC_EXAMPLE_CREATOR,
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_MEETING_ID,
    SPEC_EXAMPLE_SUBJECT,
)
from tests.fakes.tencent_webhook import meeting_end_event

pytestmark = pytest.mark.slow  # starts python -m bot processes

REPLAY = "meeting.tencent.com/l/xxxx"


async def ask(
    session: aiohttp.ClientSession, bot: BotProcess, fake: FakeSlack, text: str, user: str
) -> list[dict[str, Any]]:
    reply = await SlackSender(session, bot.url, SIGNING_SECRET, fake).slash_command(
        text, user_id=user
    )
    assert reply.status == 200, reply.text
    assert reply.response_url is not None
    return await fake.wait_for_response(reply.response_url)


async def test_back_to_me_is_honoured_by_another_process_on_its_next_lookup(
    launch: Launch,
    people: None,
    fake_slack: FakeSlack,
    postgres_session_database: str | None,
) -> None:
    if postgres_session_database is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    await empty_postgres_database(postgres_session_database)
    # No digest runs meanwhile: its look-up would be a Tencent call of its own.
    one = await launch(postgres_session_database, DIGEST_DELAY_SECONDS="3600")
    two = await launch(postgres_session_database, DIGEST_DELAY_SECONDS="3600")
    async with aiohttp.ClientSession() as session:
        event = meeting_end_event(
            SPEC_EXAMPLE_MEETING_ID,
            SPEC_EXAMPLE_MEETING_CODE,
            SPEC_EXAMPLE_SUBJECT,
            SPEC_EXAMPLE_CREATOR,
        )
        await meeting_end(session, one, event)  # the meeting's creator is learned
        await ask(session, one, fake_slack, "whoami", "U1")  # U1, its creator, found by email
        await ask(session, one, fake_slack, "visibility workspace", "U1")
        # Both processes answer U2 with the replays, and keep them in their caches.
        for bot in (one, two):
            shown = await ask(session, bot, fake_slack, SPEC_EXAMPLE_MEETING_CODE, "U2")
            assert REPLAY in text_of(shown)

        await ask(session, one, fake_slack, "visibility me", "U1")

        refused = await ask(session, two, fake_slack, SPEC_EXAMPLE_MEETING_CODE, "U2")
        assert only_creator() in text_of(refused)
        assert REPLAY not in text_of(refused)
