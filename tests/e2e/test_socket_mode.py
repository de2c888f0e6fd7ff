"""Socket Mode: with SLACK_APP_TOKEN set the bot connects out to Slack instead of serving
/slack/events, and answers the same way; /healthz and the Tencent webhook stay on the HTTP port."""

from __future__ import annotations

from tests.e2e.conftest import StartBot
from tests.fakes.block_kit import assert_valid_message, button_urls
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import SPEC_EXAMPLE_REPLAYS


async def test_slash_command_over_socket_mode(start_bot: StartBot, fake_slack: FakeSlack) -> None:
    bot = await start_bot(slack_app_token=fake_slack.app_token, slack_signing_secret=None)
    await fake_slack.wait_until(lambda: fake_slack.socket_connections == 1)

    payload = fake_slack.slash_command_payload("134 185 152 43", user_id="U1")
    ack = await fake_slack.send_over_socket("slash_commands", payload)
    assert "Looking up" in ack["payload"]["text"]

    messages = await fake_slack.wait_for_response(payload["response_url"])
    await bot.idle()
    for message in messages:
        assert_valid_message(message)
    urls = [u for m in messages for u in button_urls(m)]
    assert SPEC_EXAMPLE_REPLAYS[0]["video_url"] in urls


async def test_socket_mode_serves_health_but_not_slack_events(
    start_bot: StartBot, fake_slack: FakeSlack
) -> None:
    bot = await start_bot(slack_app_token=fake_slack.app_token, slack_signing_secret=None)
    async with bot.session.get(f"{bot.url}/healthz") as response:
        assert response.status == 200
        assert (await response.json())["mode"] == "socket"
    async with bot.session.post(f"{bot.url}/slack/events", data=b"{}") as response:
        assert response.status == 404
