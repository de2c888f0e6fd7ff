"""No secret ever reaches the logs, even at DEBUG, whatever the bot goes through, in either log
format.

`python -m bot` runs as a subprocess with LOG_LEVEL=DEBUG and every secret set to a value found
nowhere else, its log going to a file. It serves slash commands, links, a mention, a share click
and a Tencent webhook event, meets Tencent and Slack errors, and stops on SIGTERM; then the whole
log is searched for each secret value. With LOG_FORMAT=json every line must be one JSON object, and
the lines of a look-up carry its correlation fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import bot_environment
from tests.fakes.block_kit import button_urls
from tests.fakes.slack import FakeSlack, SlackSender
from tests.fakes.tencent import (
    BAD_SIGNATURE,
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_MEETING_ID,
    SPEC_EXAMPLE_SUBJECT,
    FakeTencent,
)
from tests.fakes.tencent_webhook import deliver, meeting_end_event

pytestmark = pytest.mark.slow  # starts python -m bot processes

BOT_TOKEN = "xoxb-7781-secret-bot-token-q2w3e4"
SIGNING_SECRET = "signing-secret-zx81c7v6b5"
TENCENT_SECRET_KEY = "tencent-secret-key-m4n5b6v7"
WEBHOOK_TOKEN = "webhook-token-p0o9i8u7"
WEBHOOK_AES_KEY = "SecretAesKeyForTheWebhook0123456789abcdefgh"
METRICS_TOKEN = "metrics-token-h5j6k7l8"
SECRETS = (
    BOT_TOKEN,
    SIGNING_SECRET,
    TENCENT_SECRET_KEY,
    WEBHOOK_TOKEN,
    WEBHOOK_AES_KEY,
    METRICS_TOKEN,
)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(bot_token=BOT_TOKEN)
    fake.add_user("U1", email="tester@example.com", name="tester")
    fake.add_user("UADMIN", email="boss@example.com", name="boss")
    fake.add_user("U9", email="nine@example.com", name="nine")
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def tencent() -> AsyncIterator[FakeTencent]:
    async with FakeTencent(secret_key=TENCENT_SECRET_KEY) as fake:
        fake.add_spec_example()
        fake.add_user("admin", email="admin@example.com")
        yield fake


def read(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")


async def start(
    slack: FakeSlack, tencent: FakeTencent, tmp_path: Path, log: Path, log_format: str
) -> tuple[asyncio.subprocess.Process, str]:
    """`python -m bot` at DEBUG, logging to `log` in `log_format`; returns the process and its
    base URL."""
    env = bot_environment(
        slack,
        tencent,
        f"sqlite:///{tmp_path / 'bot.db'}",
        tmp_path,
        log_level="DEBUG",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        tencent_meeting_secret_key=TENCENT_SECRET_KEY,
        tencent_webhook_token=WEBHOOK_TOKEN,
        tencent_webhook_aes_key=WEBHOOK_AES_KEY,
        digest_delay_seconds=0,
        log_format=log_format,
        metrics_token=METRICS_TOKEN,
    )
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, cwd=tmp_path, stderr=sink
        )
    async with asyncio.timeout(15):
        while not (found := re.search(r"serving on port (\d+)", read(log))):
            assert process.returncode is None, read(log)
            await asyncio.sleep(0.05)
    return process, f"http://127.0.0.1:{found.group(1)}"


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_no_secret_is_ever_logged_even_at_debug(
    slack: FakeSlack, tencent: FakeTencent, tmp_path: Path, log_format: str
) -> None:
    log = tmp_path / "bot.log"
    process, url = await start(slack, tencent, tmp_path, log, log_format)
    try:
        async with aiohttp.ClientSession() as session:
            sender = SlackSender(session, url, SIGNING_SECRET, slack)

            async def ask(text: str, user_id: str = "U1") -> list[dict]:
                reply = await sender.slash_command(text, user_id=user_id)
                assert reply.status == 200 and reply.response_url
                return await slack.wait_for_response(reply.response_url)

            # Slash commands, a self-link, an admin link.
            assert "Done" in str(await ask("link tester"))
            assert "Done" in str(await ask("link <@U9|nine> tester", user_id="UADMIN"))
            cards = await ask(SPEC_EXAMPLE_MEETING_CODE)
            await ask("whoami", user_id="U9")

            # The share button on the card.
            share = next(
                element
                for message in cards
                for block in message["blocks"]
                if block["type"] == "actions"
                for element in block["elements"]
                if element.get("action_id") == "share_replays"
            )
            shared = await sender.block_action(
                "share_replays", share["value"], user_id="U1", channel_id="C1"
            )
            assert shared.response_url
            await slack.wait_for_response(shared.response_url)

            # A mention, its answer first refused with a 429 by Slack.
            slack.rate_limit_next("chat.postMessage", 1)
            await sender.app_mention(SPEC_EXAMPLE_MEETING_ID, user_id="U1", channel="C1")
            await slack.wait_for_posts(1, channel="C1")

            # A Slack error: users.info fails for a user Slack does not know.
            await sender.app_mention(SPEC_EXAMPLE_MEETING_CODE, user_id="UGONE", channel="C1")
            await slack.wait_until(lambda: len(slack.ephemerals) >= 1)

            # Tencent errors: 5xx, then a rejected signature.
            tencent.fail_next(3, status=503)
            assert "isn't answering" in str(await ask(f"refresh {SPEC_EXAMPLE_MEETING_CODE}"))
            tencent.fail_next(1, status=500, error_code=BAD_SIGNATURE)
            assert "rejects this app's credentials" in str(
                await ask(f"refresh {SPEC_EXAMPLE_MEETING_CODE}")
            )

            # A Tencent webhook event, and the digest it leads to.
            event = meeting_end_event(
                SPEC_EXAMPLE_MEETING_ID, SPEC_EXAMPLE_MEETING_CODE, SPEC_EXAMPLE_SUBJECT, "tester"
            )
            status, _ = await deliver(
                session,
                f"{url}/tencent/webhook",
                event,
                token=WEBHOOK_TOKEN,
                aes_key=WEBHOOK_AES_KEY,
            )
            assert status == 200
            with contextlib.suppress(TimeoutError):
                await slack.wait_for_posts(1, channel="DU1", timeout=3)

            # The metrics, scraped with their token (and refused without it).
            async with session.get(f"{url}/metrics") as refused:
                assert refused.status == 401
            bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            async with session.get(f"{url}/metrics", headers=bearer) as scraped:
                assert scraped.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            code = await process.wait()

    text = read(log)
    assert code == 0, text[-2000:]
    # The run was really logged in detail, so the search below means something.
    if log_format == "json":
        entries = [json.loads(line) for line in text.splitlines()]
        assert any(e["level"] == "DEBUG" and e["logger"].startswith("slack_sdk") for e in entries)
        assert_correlated(entries, slack.team_id)
    else:
        assert " DEBUG slack_sdk" in text
    assert "Tencent Meeting GET" in text
    assert "Tencent webhook event meeting.end accepted" in text
    assert any(button_urls(post) for post in slack.posted)
    for secret in SECRETS:
        assert secret not in text, f"a secret value appears in the log: {secret[:6]}…"


def assert_correlated(entries: list[dict[str, str]], team: str) -> None:
    """The lines of a look-up and of a digest name what they are about."""
    # The failed look-ups' Tencent calls, logged in the work after the command's ack.
    calls = [e for e in entries if e["message"].startswith("Tencent Meeting GET")]
    assert calls
    for entry in calls:
        assert entry["team"] == team
        assert entry["request_kind"] == "command"
        assert entry["request_id"]
        assert entry["meeting"] == SPEC_EXAMPLE_MEETING_CODE
    assert {"time", "level", "logger", "message"} <= set(calls[0])
    # Two commands, two different ids.
    assert len({e["request_id"] for e in calls}) == 2
    # The digest's lines name its job and meeting.
    posted = [e for e in entries if e["message"].startswith("digest for meeting")]
    assert posted
    assert all(e.get("digest_job") and e["meeting"] == SPEC_EXAMPLE_MEETING_ID for e in posted)
