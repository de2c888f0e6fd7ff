"""@-mentions and direct messages, end to end: where the answer lands and who sees it.

Events are signed `event_callback`s to the real app; answers are what the fake Slack recorded
(`posted` for messages everybody sees, `ephemerals` for the asker alone).
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.e2e.conftest import RunningBot
from tests.fakes.block_kit import button_urls
from tests.fakes.slack import FakeSlack, SlackReply
from tests.fakes.tencent import SPEC_EXAMPLE_MEETING_CODE, SPEC_EXAMPLE_REPLAYS

SPEC_URL = SPEC_EXAMPLE_REPLAYS[0]["video_url"]
CHANNEL = "C1"


def urls_of(messages: list[dict[str, Any]]) -> list[str]:
    return [url for message in messages for url in button_urls(message)]


@pytest.fixture
async def linked(bot: RunningBot) -> RunningBot:
    """The bot, with U1 linked to `tester` (the creator of the spec's example meeting)."""
    assert "Done" in str(await bot.ask("link tester"))
    return bot


async def settle(bot: RunningBot, reply: SlackReply) -> None:
    assert reply.status == 200, reply.text
    await bot.idle()


async def test_mention_in_a_thread_is_answered_in_that_thread(linked: RunningBot) -> None:
    parent = linked.fake_slack.next_ts()
    linked.fake_slack.seed_message(CHANNEL, parent, "Who has the replays?", "U2")
    reply = await linked.slack.app_mention(
        SPEC_EXAMPLE_MEETING_CODE, user_id="U1", channel=CHANNEL, thread_ts=parent
    )
    await settle(linked, reply)
    [post] = await linked.fake_slack.wait_for_posts(1, channel=CHANNEL)
    assert post["thread_ts"] == parent
    assert SPEC_URL in urls_of([post])
    assert linked.fake_slack.ephemerals == []


async def test_mention_outside_a_thread_starts_one_under_it(linked: RunningBot) -> None:
    mention_ts = linked.fake_slack.next_ts()
    reply = await linked.slack.app_mention(
        f"replays of {SPEC_EXAMPLE_MEETING_CODE} please",
        user_id="U1",
        channel=CHANNEL,
        ts=mention_ts,
    )
    await settle(linked, reply)
    [post] = await linked.fake_slack.wait_for_posts(1, channel=CHANNEL)
    assert post["thread_ts"] == mention_ts
    assert SPEC_URL in urls_of([post])


async def test_a_redelivered_event_is_answered_once(linked: RunningBot) -> None:
    event_id = f"Ev{secrets.token_hex(5).upper()}"
    ts = linked.fake_slack.next_ts()
    first = await linked.slack.app_mention(
        SPEC_EXAMPLE_MEETING_CODE, user_id="U1", channel=CHANNEL, ts=ts, event_id=event_id
    )
    again = await linked.slack.app_mention(
        SPEC_EXAMPLE_MEETING_CODE,
        user_id="U1",
        channel=CHANNEL,
        ts=ts,
        event_id=event_id,
        retry_num=1,
    )
    await settle(linked, first)
    await settle(linked, again)  # acknowledged, so Slack stops retrying
    assert len(linked.fake_slack.posts_to(CHANNEL)) == 1


async def test_bare_mention_in_a_thread_reads_the_code_from_the_thread_parent(
    linked: RunningBot,
) -> None:
    parent = linked.fake_slack.next_ts()
    linked.fake_slack.seed_message(
        CHANNEL, parent, "Yesterday's all-hands was 134 185 152 43, replays anyone?", "U2"
    )
    reply = await linked.slack.app_mention("", user_id="U1", channel=CHANNEL, thread_ts=parent)
    await settle(linked, reply)
    [post] = await linked.fake_slack.wait_for_posts(1, channel=CHANNEL)
    assert post["thread_ts"] == parent
    assert SPEC_URL in urls_of([post])
    assert linked.fake_slack.calls_to("conversations.replies")


async def test_help_in_a_thread_is_help_even_when_the_parent_has_a_code(
    linked: RunningBot,
) -> None:
    parent = linked.fake_slack.next_ts()
    linked.fake_slack.seed_message(CHANNEL, parent, "Meeting 134 185 152 43", "U2")
    reply = await linked.slack.app_mention("help", user_id="U1", channel=CHANNEL, thread_ts=parent)
    await settle(linked, reply)
    [help_message] = linked.fake_slack.ephemerals
    assert "Find the live-stream replays" in help_message["text"]
    assert linked.fake_slack.posts_to(CHANNEL) == []


def direct_message(text: str, *, user: str, channel_type: str = "im") -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": channel_type,
        "channel": f"D{user}" if channel_type == "im" else CHANNEL,
        "user": user,
        "text": text,
        "ts": f"{secrets.randbelow(10**9)}.000100",
        "event_ts": f"{secrets.randbelow(10**9)}.000100",
    }


async def test_a_direct_message_is_answered_in_the_dm(linked: RunningBot) -> None:
    reply = await linked.slack.event(direct_message(SPEC_EXAMPLE_MEETING_CODE, user="U1"))
    await settle(linked, reply)
    [post] = await linked.fake_slack.wait_for_posts(1, channel="DU1")
    assert post["thread_ts"] is None
    assert SPEC_URL in urls_of([post])


async def test_plain_channel_messages_are_not_taken_for_dms(linked: RunningBot) -> None:
    # Bolt's dict constraint `{"type": "message", "channel_type": "im"}` ignores channel_type,
    # so this used to be answered as if it were a DM.
    event = direct_message(SPEC_EXAMPLE_MEETING_CODE, user="U1", channel_type="channel")
    reply = await linked.slack.event(event)
    await settle(linked, reply)
    assert linked.fake_slack.posted == []
    assert linked.fake_slack.ephemerals == []


async def test_errors_go_to_the_asker_alone(bot: RunningBot, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U9", email="nine@example.com")  # no Tencent user has this email
    parent = fake_slack.next_ts()
    fake_slack.seed_message(CHANNEL, parent, "Replays?", "U2")
    reply = await bot.slack.app_mention(
        SPEC_EXAMPLE_MEETING_CODE, user_id="U9", channel=CHANNEL, thread_ts=parent
    )
    await settle(bot, reply)
    [ephemeral] = fake_slack.ephemerals
    assert ephemeral["user"] == "U9"
    assert ephemeral["channel"] == CHANNEL
    assert ephemeral["thread_ts"] == parent
    assert "/replays link" in str(ephemeral)
    assert fake_slack.posted == []

    # Not the creator: also only for the asker.
    reply = await bot.slack.app_mention(
        SPEC_EXAMPLE_MEETING_CODE, user_id="U2", channel=CHANNEL, thread_ts=parent
    )
    await settle(bot, reply)
    assert "Only the creator" in str(fake_slack.ephemerals[-1])
    assert fake_slack.posted == []


async def test_an_admin_can_unlink_someone_by_mention(
    bot: RunningBot, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U9", email="nine@example.com")
    assert "Done" in str(await bot.ask("link <@U9|nine> tester", user_id="UADMIN"))

    # In events, Slack writes mentions without the name: only the bot's own one is not an argument.
    reply = await bot.slack.app_mention("unlink <@U9>", user_id="UADMIN", channel=CHANNEL)
    await settle(bot, reply)
    assert "Done: <@U9> is no longer linked" in str(fake_slack.ephemerals[-1])
    assert "I don't know your Tencent Meeting account" in str(await bot.ask("whoami", user_id="U9"))
