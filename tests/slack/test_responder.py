"""`Responder`: posts to a `response_url` (the fake Slack's), with Slack's retries."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from bot.slack import responder as responder_module
from bot.slack.responder import Responder
from tests.fakes.slack import RESPONSE_URL, FakeSlack

MESSAGE = {"text": "Replays of *Weekly* — 周会", "blocks": [{"type": "divider"}]}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


async def test_posts_each_message_in_order_as_json(
    fake_slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    url = fake_slack.new_response_url()
    second = {"text": "two", "blocks": []}
    assert await Responder(session).send_all(url, [MESSAGE, second], response_type="in_channel")
    token = url.rsplit("/", 1)[-1]
    assert fake_slack.responses[token] == [
        {**MESSAGE, "response_type": "in_channel", "replace_original": False},
        {**second, "response_type": "in_channel", "replace_original": False},
    ]


async def test_a_429_is_waited_out_and_tried_again(
    fake_slack: FakeSlack, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(responder_module.random, "random", lambda: 0.0)
    fake_slack.rate_limit_next(RESPONSE_URL, 2, retry_after=0)
    url = fake_slack.new_response_url()
    assert await Responder(session).send_all(url, [MESSAGE])
    assert len(fake_slack.limited_responses) == 2
    assert len(fake_slack.responses[url.rsplit("/", 1)[-1]]) == 1


async def test_past_three_429s_it_gives_up_and_says_so(
    fake_slack: FakeSlack, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(responder_module.random, "random", lambda: 0.0)
    fake_slack.rate_limit_next(RESPONSE_URL, 4, retry_after=0)
    url = fake_slack.new_response_url()
    assert not await Responder(session).send_all(url, [MESSAGE])
    assert len(fake_slack.limited_responses) == 4  # the post and three retries
    assert fake_slack.responses[url.rsplit("/", 1)[-1]] == []


@pytest.mark.slow
async def test_retry_after_is_honoured(
    fake_slack: FakeSlack, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(responder_module.random, "random", lambda: 0.0)
    fake_slack.rate_limit_next(RESPONSE_URL, 1, retry_after=1)
    began = time.monotonic()
    assert await Responder(session).send_all(fake_slack.new_response_url(), [MESSAGE])
    assert time.monotonic() - began >= 1.0


async def test_a_refused_message_is_reported_and_the_rest_still_sent(
    fake_slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    url = fake_slack.new_response_url()
    bad = {"text": "x", "blocks": [{"type": "no_such_block"}]}
    assert not await Responder(session).send_all(url, [bad, MESSAGE])
    assert len(fake_slack.responses[url.rsplit("/", 1)[-1]]) == 1


async def test_a_dropped_connection_is_tried_once_more(
    session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    posts: list[int] = []

    async def flaky(request: web.Request) -> web.StreamResponse:
        posts.append(len(posts))
        if len(posts) == 1:
            assert request.transport is not None
            request.transport.close()  # hang up without an answer
            return web.Response()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/r", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        responder = Responder(session, sleep=_recorded(slept))
        assert await responder.send_all(f"http://127.0.0.1:{port}/r", [MESSAGE])
        assert posts == [0, 1]
        assert len(slept) == 1 and 0.5 <= slept[0] < 1.5
    finally:
        await runner.cleanup()


async def test_an_unreachable_url_is_reported_not_raised(session: aiohttp.ClientSession) -> None:
    slept: list[float] = []
    responder = Responder(session, sleep=_recorded(slept))
    assert not await responder.send_all("http://127.0.0.1:9/r", [MESSAGE])
    assert len(slept) == 1  # tried once more, then given up


def _recorded(slept: list[float]) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return sleep
