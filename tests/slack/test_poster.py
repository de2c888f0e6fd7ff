"""The poster against the fake Slack: a post waiting for its channel's turn stops when told to,
before its request goes out; a request sent is always seen through."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.poster import PostingStopped, SlackPoster
from tests.fakes.slack import FakeSlack

CHANNEL = "C1"


async def test_posts_waiting_for_their_turn_stop_unsent_when_told_to(
    fake_slack: FakeSlack,
) -> None:
    client = AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url)
    poster = SlackPoster(client, per_channel_interval=30.0)
    stop = asyncio.Event()
    first = await poster.post(CHANNEL, {"text": "one"}, stop=stop)
    assert first is not None
    # The second post's turn is 30 s away: it waits, and stops at once when told to.
    waiting = asyncio.create_task(poster.post(CHANNEL, {"text": "two"}, stop=stop))
    await asyncio.sleep(0.1)
    stop.set()
    with pytest.raises(PostingStopped):
        await asyncio.wait_for(waiting, 2)
    assert [post["text"] for post in fake_slack.posts_to(CHANNEL)] == ["one"]
    with pytest.raises(PostingStopped):
        await poster.update(CHANNEL, first, {"text": "one, edited"}, stop=stop)
    assert fake_slack.posts_to(CHANNEL)[0]["text"] == "one"
