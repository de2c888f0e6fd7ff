"""The fake Slack behaves like Slack for the real clients: slack_sdk's Web client and a Bolt app.

If the fake drifted from Slack, every end-to-end test built on it would prove nothing; these tests
drive it with the same libraries the bot uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack import RESPONSE_URL_USES, FakeSlack, SlackSender

SIGNING_SECRET = "fake-signing-secret"
BUTTON: dict[str, Any] = {
    "type": "button",
    "text": {"type": "plain_text", "text": "Replay 1"},
    "url": "https://x",
}
BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Weekly sync"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*2 replays*"}},
    {"type": "actions", "elements": [BUTTON]},
]


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture
async def client(
    fake_slack: FakeSlack, session: aiohttp.ClientSession
) -> AsyncIterator[AsyncWebClient]:
    yield AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url, session=session)


@contextlib.asynccontextmanager
async def _serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


# --- the Web API through slack_sdk ---------------------------------------------------------------


async def test_auth_test_answers_as_the_bot(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert (response["team_id"], response["user_id"], response["bot_id"]) == (
        "T0001",
        "UBOT",
        "B0001",
    )
    assert fake_slack.calls[-1][0] == "auth.test"


async def test_wrong_token_is_invalid_auth(
    fake_slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    stranger = AsyncWebClient(token="xoxb-wrong", base_url=fake_slack.api_url, session=session)
    with pytest.raises(SlackApiError) as caught:
        await stranger.auth_test()
    assert caught.value.response["error"] == "invalid_auth"


async def test_users_info_gives_email_and_locale_when_asked(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.add_user("U1", email="ann@example.com", locale="zh-CN", name="ann")

    with_locale = (await client.users_info(user="U1", include_locale=True))["user"]
    without = (await client.users_info(user="U1"))["user"]

    assert with_locale["locale"] == "zh-CN"
    assert with_locale["profile"]["email"] == "ann@example.com"
    assert with_locale["name"] == "ann"
    assert "locale" not in without
    with pytest.raises(SlackApiError) as caught:
        await client.users_info(user="U404")
    assert caught.value.response["error"] == "user_not_found"


async def test_post_message_with_blocks_is_recorded_and_threaded(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.seed_message("C1", "1700000000.000100", "<@UBOT> 806146667", "U1")

    response = await client.chat_postMessage(
        channel="C1", text="2 replays", blocks=BLOCKS, thread_ts="1700000000.000100"
    )

    assert response["channel"] == "C1"
    [post] = fake_slack.posted
    assert post["ts"] == response["ts"]
    assert post["blocks"] == BLOCKS
    assert post["thread_ts"] == "1700000000.000100"
    assert post["is_dm"] is False
    assert fake_slack.rejected == []
    thread = await client.conversations_replies(channel="C1", ts="1700000000.000100")
    assert [m["text"] for m in thread["messages"]] == ["<@UBOT> 806146667", "2 replays"]


async def test_form_encoded_post_is_accepted_too(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "hi", "blocks": json.dumps(BLOCKS)}
    )
    assert fake_slack.posted[0]["blocks"] == BLOCKS


async def test_dm_channels_are_stable_and_posting_to_a_user_lands_there(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    first = (await client.conversations_open(users="U7"))["channel"]["id"]
    second = (await client.conversations_open(users="U7"))["channel"]["id"]
    posted = await client.chat_postMessage(channel="U7", text="your replays")

    assert first == second == posted["channel"] == fake_slack.dm_channel("U7")
    assert first.startswith("D")
    assert fake_slack.posted[0]["is_dm"] is True
    assert len(fake_slack.posts_to("U7")) == 1


async def test_ephemeral_and_update(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    posted = await client.chat_postMessage(channel="C1", text="looking…")
    await client.chat_update(channel="C1", ts=posted["ts"], text="found", blocks=BLOCKS)

    assert fake_slack.ephemerals[0]["user"] == "U1"
    assert fake_slack.messages["C1"][posted["ts"]]["text"] == "found"
    assert fake_slack.updates[0]["blocks"] == BLOCKS
    with pytest.raises(SlackApiError) as caught:
        await client.chat_update(channel="C1", ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"


async def test_unknown_method(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client.api_call("reactions.add", json={"name": "tada"})
    assert caught.value.response["error"] == "unknown_method"


@pytest.mark.slow
async def test_429_with_retry_after_is_honoured_by_slack_sdk(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.rate_limit_next("chat.postMessage", retry_after=1)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))

    started = time.monotonic()
    response = await client.chat_postMessage(channel="C1", text="hello")

    assert response["ok"]
    assert time.monotonic() - started >= 1.0, "the client waited Retry-After seconds"
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert len(fake_slack.posted) == 1


async def test_429_without_a_retry_handler_surfaces(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.rate_limit_next("users.info", n=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            await client.users_info(user="UBOT")
        assert caught.value.response.status_code == 429
        assert caught.value.response.headers["Retry-After"] == "7"
    assert (await client.users_info(user="UBOT"))["ok"]


def _too_many_blocks() -> list[dict[str, Any]]:
    return [{"type": "divider"}] * 51


@pytest.mark.parametrize(
    "blocks",
    [
        pytest.param(_too_many_blocks(), id="51-blocks"),
        pytest.param(
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            id="long-header",
        ),
        pytest.param(
            [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}],
            id="long-section",
        ),
        pytest.param(
            [
                {
                    "type": "actions",
                    "elements": [{**BUTTON, "text": {"type": "plain_text", "text": "b" * 76}}],
                }
            ],
            id="long-button-text",
        ),
        pytest.param([{"type": "actions", "elements": [BUTTON] * 26}], id="26-actions"),
    ],
)
async def test_invalid_blocks_are_refused_and_recorded(
    fake_slack: FakeSlack, client: AsyncWebClient, blocks: list[dict[str, Any]]
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    assert caught.value.response["error"] == "invalid_blocks"
    assert fake_slack.posted == []
    [rejected] = fake_slack.rejected
    assert rejected["method"] == "chat.postMessage"
    assert rejected["payload"]["blocks"] == blocks


async def test_post_times_are_recorded_per_channel(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    for channel in ["C1", "C2", "C1"]:
        await client.chat_postMessage(channel=channel, text="x")
    assert len(fake_slack.post_times["C1"]) == 2
    assert len(fake_slack.post_times["C2"]) == 1
    assert fake_slack.post_times["C1"][0] <= fake_slack.post_times["C1"][1]


async def test_wait_for_posts_wakes_on_a_later_post_and_times_out_otherwise(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C9", text="late")

    task = asyncio.create_task(post_later())
    [post] = await fake_slack.wait_for_posts(1, timeout=5, channel="C9")
    await task
    assert post["text"] == "late"
    with pytest.raises(TimeoutError):
        await fake_slack.wait_for_posts(1, timeout=0.1, channel="C10")


# --- response_url --------------------------------------------------------------------------------


async def test_response_url_takes_five_posts_then_refuses(
    fake_slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    url = fake_slack.new_response_url()
    webhook = AsyncWebhookClient(url, session=session)

    statuses = [(await webhook.send(text=f"answer {i}")).status_code for i in range(6)]

    assert statuses == [200] * RESPONSE_URL_USES + [404]
    payloads = await fake_slack.wait_for_response(url, count=RESPONSE_URL_USES)
    assert [p["text"] for p in payloads] == [f"answer {i}" for i in range(5)]
    assert len(fake_slack.refused_responses) == 1


async def test_response_url_validates_blocks(
    fake_slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    url = fake_slack.new_response_url()
    webhook = AsyncWebhookClient(url, session=session)

    refused = await webhook.send(text="x", blocks=_too_many_blocks())
    accepted = await webhook.send(text="x", blocks=BLOCKS, response_type="ephemeral")

    assert (refused.status_code, accepted.status_code) == (400, 200)
    assert fake_slack.rejected[0]["method"] == "response_url"
    assert fake_slack.responses[url.rsplit("/", 1)[-1]] == [
        {"text": "x", "blocks": BLOCKS, "response_type": "ephemeral"}
    ]


# --- the sender, on the wire ---------------------------------------------------------------------


@pytest_asyncio.fixture
async def capture() -> AsyncIterator[tuple[str, list[web.BaseRequest], list[bytes]]]:
    """A bare server that records raw requests, to check what SlackSender puts on the wire."""
    requests: list[web.BaseRequest] = []
    bodies: list[bytes] = []

    async def record(request: web.Request) -> web.Response:
        requests.append(request)
        bodies.append(await request.read())
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", record)
    async with _serve(app) as url:
        yield url, requests, bodies


async def test_sender_signs_and_encodes_like_slack(
    fake_slack: FakeSlack,
    session: aiohttp.ClientSession,
    capture: tuple[str, list[web.BaseRequest], list[bytes]],
) -> None:
    url, requests, bodies = capture
    sender = SlackSender(session, url, SIGNING_SECRET, fake_slack)

    reply = await sender.slash_command("134 185 152+43", user_id="U5", channel_id="C5")
    await sender.event({"type": "app_home_opened", "user": "U5"}, event_id="Ev1", retry_num=2)

    command, event = requests
    verifier = SignatureVerifier(SIGNING_SECRET)
    for request, body in zip(requests, bodies, strict=True):
        assert verifier.is_valid_request(body, dict(request.headers))
    form = {k: v[0] for k, v in parse_qs(bodies[0].decode(), keep_blank_values=True).items()}
    assert set(form) == {
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    }
    assert (form["text"], form["user_id"], form["channel_id"]) == ("134 185 152+43", "U5", "C5")
    assert form["response_url"] == reply.response_url
    assert command.content_type == "application/x-www-form-urlencoded"
    assert event.headers["X-Slack-Retry-Num"] == "2"
    assert event.headers["X-Slack-Retry-Reason"] == "http_timeout"
    envelope = json.loads(bodies[1])
    assert (envelope["type"], envelope["event_id"]) == ("event_callback", "Ev1")


# --- a real Bolt app against the fake ------------------------------------------------------------


@pytest_asyncio.fixture
async def bolt_url(fake_slack: FakeSlack, session: aiohttp.ClientSession) -> AsyncIterator[str]:
    client = AsyncWebClient(
        token=fake_slack.bot_token, base_url=fake_slack.api_url, session=session
    )
    app = AsyncApp(client=client, signing_secret=SIGNING_SECRET)

    @app.command("/replays")
    async def replays(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"looked up {command['text']}", blocks=BLOCKS)

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: Any) -> None:
        await say(text="in thread", thread_ts=event.get("thread_ts") or event["ts"])

    @app.action("open")
    async def clicked(ack: Any, respond: Any, action: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"clicked {action['value']}")

    async with _serve(app.web_app(path="/slack/events")) as url:
        yield url


async def test_bolt_accepts_a_signed_slash_command_and_responds_through_the_fake(
    fake_slack: FakeSlack, session: aiohttp.ClientSession, bolt_url: str
) -> None:
    sender = SlackSender(session, bolt_url, SIGNING_SECRET, fake_slack)

    reply = await sender.slash_command("806146667")

    assert reply.status == 200
    assert reply.response_url is not None
    [payload] = await fake_slack.wait_for_response(reply.response_url)
    assert payload["text"] == "looked up 806146667"
    assert fake_slack.rejected == []
    # Bolt's per-request client asked who it is, naming the team
    assert fake_slack.calls_to("auth.test")[0].get("team_id") == "T0001"


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        pytest.param(None, "v0=" + "0" * 64, id="wrong-signature"),
        pytest.param(int(time.time()) - 360, None, id="six-minutes-old"),
        pytest.param(None, "", id="missing-signature"),
        pytest.param("", None, id="missing-timestamp"),
    ],
)
async def test_bolt_refuses_badly_signed_requests(
    fake_slack: FakeSlack,
    session: aiohttp.ClientSession,
    bolt_url: str,
    timestamp: int | str | None,
    signature: str | None,
) -> None:
    sender = SlackSender(session, bolt_url, SIGNING_SECRET, fake_slack)

    reply = await sender.slash_command("806146667", timestamp=timestamp, signature=signature)

    assert reply.status == 401
    assert reply.response_url is not None
    await asyncio.sleep(0.1)  # time for a wrongly accepted command to have responded
    assert fake_slack.responses[reply.response_url.rsplit("/", 1)[-1]] == []


async def test_bolt_answers_a_mention_in_its_thread(
    fake_slack: FakeSlack, session: aiohttp.ClientSession, bolt_url: str
) -> None:
    sender = SlackSender(session, bolt_url, SIGNING_SECRET, fake_slack)

    reply = await sender.app_mention(
        "806146667", user_id="U1", channel="C1", ts="1700000000.000200"
    )

    assert reply.status == 200
    [post] = await fake_slack.wait_for_posts(1, channel="C1")
    assert post["thread_ts"] == "1700000000.000200"
    thread = fake_slack.messages["C1"]
    assert thread["1700000000.000200"]["text"] == "<@UBOT> 806146667"


async def test_bolt_receives_a_button_click(
    fake_slack: FakeSlack, session: aiohttp.ClientSession, bolt_url: str
) -> None:
    sender = SlackSender(session, bolt_url, SIGNING_SECRET, fake_slack)
    response_url = fake_slack.new_response_url()

    reply = await sender.block_action(
        "open", "replay-1", user_id="U1", channel_id="C1", response_url=response_url
    )

    assert reply.status == 200
    [payload] = await fake_slack.wait_for_response(response_url)
    assert payload["text"] == "clicked replay-1"
