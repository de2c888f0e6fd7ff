"""The real bot, served on 127.0.0.1 against the fake Slack and the fake Tencent Meeting.

`start_bot(**settings)` builds the bot exactly as `python -m bot` does (settings, composition root,
aiohttp server) and stops it after the test. Users:

- `U1` (tester@example.com) is Tencent user `tester`, the creator of the API page's example meeting;
- `U2` (other@example.com) is Tencent user `other`, who created nothing;
- `UADMIN` is a bot admin; Tencent user `admin` is the operator used for email look-ups.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.compose import Tuning
from bot.config import Settings, load_settings
from bot.server import BotServer
from tests.fakes.slack import FakeSlack, SlackReply, SlackSender
from tests.fakes.tencent import FakeTencent
from tests.fakes.tencent_webhook import deliver

SIGNING_SECRET = "e2e-signing-secret-5f1c0a9d"
WEBHOOK_TOKEN = "TokenTokenTokenTokenToken"
WEBHOOK_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


REPO = Path(__file__).resolve().parents[2]


def settings_values(
    fake_slack: FakeSlack, fake_tencent: FakeTencent, database_url: str, **overrides: Any
) -> dict[str, Any]:
    """A complete configuration pointing at the fakes, by setting name."""
    credentials = fake_tencent.credentials
    values: dict[str, Any] = {
        "slack_bot_token": fake_slack.bot_token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake_slack.api_url,
        "tencent_meeting_app_id": credentials.app_id,
        "tencent_meeting_secret_id": credentials.secret_id,
        "tencent_meeting_secret_key": credentials.secret_key,
        "tencent_meeting_api_url": fake_tencent.base_url,
        "tencent_meeting_operator_id": "admin",
        "tencent_webhook_token": WEBHOOK_TOKEN,
        "tencent_webhook_aes_key": WEBHOOK_AES_KEY,
        "database_url": database_url,
        "bot_admins": "UADMIN",
        "digest_delay_seconds": 0.05,
        "port": 0,
    }
    values.update(overrides)
    return values


def bot_settings(
    fake_slack: FakeSlack, fake_tencent: FakeTencent, database_url: str, **overrides: Any
) -> Settings:
    return load_settings(
        env_file=None, **settings_values(fake_slack, fake_tencent, database_url, **overrides)
    )


def bot_environment(
    fake_slack: FakeSlack,
    fake_tencent: FakeTencent,
    database_url: str,
    home: Path,
    **overrides: Any,
) -> dict[str, str]:
    """The same configuration as the environment of `python -m bot` in a process of its own,
    with nothing else from this process (run it where no `.env` lies)."""
    values = settings_values(fake_slack, fake_tencent, database_url, **overrides)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "HOME": str(home),
        **{name.upper(): str(value) for name, value in values.items()},
    }


@dataclass
class RunningBot:
    server: BotServer
    url: str
    session: aiohttp.ClientSession
    slack: SlackSender
    fake_slack: FakeSlack
    fake_tencent: FakeTencent

    async def command(self, text: str, *, user_id: str = "U1", **kwargs: Any) -> SlackReply:
        return await self.slack.slash_command(text, user_id=user_id, **kwargs)

    async def ask(self, text: str, *, user_id: str = "U1", **kwargs: Any) -> list[dict[str, Any]]:
        """Run `/replays text` and return its answer: the message in the acknowledgement when the
        answer was ready at once, else the messages posted to its response_url."""
        reply = await self.command(text, user_id=user_id, **kwargs)
        assert reply.status == 200, reply.text
        assert reply.response_url is not None
        token = reply.response_url.rsplit("/", 1)[-1]
        if answered_in_ack(reply):
            await self.idle()
            assert not self.fake_slack.responses.get(token), "answered twice"
            return [reply.json()]
        await self.fake_slack.wait_for_response(reply.response_url, count=1)
        await self.idle()  # an answer may be several messages, sent back to back
        return list(self.fake_slack.responses[token])

    async def idle(self) -> None:
        assert self.server.running is not None
        assert await self.server.running.in_flight.drain(10), "the bot is still busy"

    async def webhook(self, event: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        kwargs.setdefault("token", WEBHOOK_TOKEN)
        kwargs.setdefault("aes_key", WEBHOOK_AES_KEY)
        return await deliver(self.session, f"{self.url}/tencent/webhook", event, **kwargs)


@contextlib.asynccontextmanager
async def announced(bot: RunningBot, kind: str, within: float = 2.0) -> AsyncIterator[None]:
    """Around a change of `kind` made through another instance: on leaving, `bot` has heard its
    announcement. PostgreSQL delivers a NOTIFY a moment after the commit, not with the answer,
    and an answer from memory can be quicker than that moment."""
    assert bot.server.running is not None and bot.server.running.changes is not None
    heard = asyncio.Event()
    bot.server.running.changes.on(kind, lambda _change: heard.set())
    yield
    async with asyncio.timeout(within):
        await heard.wait()


def answered_in_ack(reply: SlackReply) -> bool:
    """Whether the acknowledgement carries the answer itself (blocks), not a "looking up" line."""
    return bool(reply.text) and "blocks" in reply.json()


StartBot = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
def people(fake_slack: FakeSlack, fake_tencent: FakeTencent) -> None:
    fake_slack.add_user("U1", email="Tester@Example.com", name="tester")
    fake_slack.add_user("U2", email="other@example.com", name="other")
    fake_slack.add_user("UADMIN", email="boss@example.com", name="boss")
    fake_slack.add_user("UZH", email="zh@example.com", locale="zh-CN", name="zh")
    fake_tencent.add_user("other", email="other@example.com")
    fake_tencent.add_user("admin", email="admin@example.com")


@pytest.fixture
async def start_bot(
    fake_slack: FakeSlack, fake_tencent: FakeTencent, tmp_path: Path, people: None
) -> AsyncIterator[StartBot]:
    running: list[RunningBot] = []
    session = aiohttp.ClientSession()

    async def start(
        database_url: str | None = None, *, tuning: Tuning | None = None, **overrides: Any
    ) -> RunningBot:
        url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        settings = bot_settings(fake_slack, fake_tencent, url, **overrides)
        server = BotServer(settings, host="127.0.0.1", tuning=tuning)
        port = await server.start()
        base = f"http://127.0.0.1:{port}"
        bot = RunningBot(
            server=server,
            url=base,
            session=session,
            slack=SlackSender(session, base, SIGNING_SECRET, fake_slack),
            fake_slack=fake_slack,
            fake_tencent=fake_tencent,
        )
        running.append(bot)
        return bot

    yield start
    for bot in running:
        await bot.server.stop(drain_timeout=5)
    await session.close()


@pytest.fixture
async def bot(start_bot: StartBot) -> RunningBot:
    return await start_bot()
