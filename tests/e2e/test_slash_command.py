"""`/replays` end to end: signed requests to the real app, answers on the fake response_url."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import RunningBot, answered_in_ack
from tests.fakes.block_kit import assert_valid_message, button_urls
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import (
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_MEETING_ID,
    SPEC_EXAMPLE_REPLAYS,
    FakeTencent,
)


def replay_calls(fake: FakeTencent) -> list[str]:
    return [c.path for c in fake.calls if "live_play/replays" in c.path]


def all_text(messages: list[dict]) -> str:
    return "\n".join(str(m) for m in messages)


async def test_linked_user_gets_every_replay_button_within_a_second(bot: RunningBot) -> None:
    assert "Done" in all_text(await bot.ask("link tester"))

    reply = await bot.command("134 185 152 43")
    assert reply.status == 200
    assert reply.elapsed < 1.0
    assert reply.json()["response_type"] == "ephemeral"  # the immediate acknowledgement

    messages = await bot.fake_slack.wait_for_response(reply.response_url)
    await bot.idle()
    for message in messages:
        assert_valid_message(message)
        assert message["response_type"] == "ephemeral"
    urls = [url for m in messages for url in button_urls(m)]
    for replay in SPEC_EXAMPLE_REPLAYS:
        assert replay["video_url"] in urls
    assert replay_calls(bot.fake_tencent) == ["/v1/meetings/live_play/replays"]


async def test_meeting_id_uses_the_by_id_endpoint(bot: RunningBot) -> None:
    await bot.ask("link tester")
    messages = await bot.ask(SPEC_EXAMPLE_MEETING_ID)
    assert replay_calls(bot.fake_tencent) == [
        f"/v1/meetings/{SPEC_EXAMPLE_MEETING_ID}/live_play/replays"
    ]
    assert SPEC_EXAMPLE_REPLAYS[0]["video_url"] in [u for m in messages for u in button_urls(m)]


async def test_invitation_and_two_codes(bot: RunningBot, fake_tencent: FakeTencent) -> None:
    fake_tencent.add_meeting(
        "7567173273889276131",
        "295150176",
        subject="Weekly sync",
        creator="tester",
        replays=[
            {
                "live_room_id": "1",
                "live_subject": "Sync",
                "video_url": "https://meeting.tencent.com/l/sync1",
            }
        ],
    )
    await bot.ask("link tester")
    invitation = (
        "张三 邀请您参加腾讯会议\n会议主题：周会\n"
        "会议时间：2024/03/12 14:00-15:00 (GMT+08:00) 中国标准时间 - 北京\n\n"
        "点击链接入会，或添加至会议列表：\nhttps://meeting.tencent.com/dm/AbCdEfGhIjKl\n\n"
        "#腾讯会议：295-150-176\n\n复制该信息，打开手机腾讯会议即可参与"
    )
    messages = await bot.ask(invitation)
    assert "https://meeting.tencent.com/l/sync1" in [u for m in messages for u in button_urls(m)]

    messages = await bot.ask(f"295-150-176 {SPEC_EXAMPLE_MEETING_CODE}")
    text = all_text(messages)
    assert "Weekly sync" in text and "tester预定的会议" in text
    headers = [b for m in messages for b in m["blocks"] if b["type"] == "header"]
    assert len(headers) == 2


async def test_bad_signatures_get_401_and_no_tencent_call(bot: RunningBot) -> None:
    stale = int(time.time()) - 6 * 60
    for kwargs in ({"signature": ""}, {"signature": "v0=" + "0" * 64}, {"timestamp": stale}):
        reply = await bot.command("134 185 152 43", **kwargs)
        assert reply.status == 401, kwargs
    assert bot.fake_tencent.calls == []
    assert all(not r for r in bot.fake_slack.responses.values())


async def test_unlinked_user_is_told_how_to_link(bot: RunningBot, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U9", email="nobody@example.com")
    messages = await bot.ask("134 185 152 43", user_id="U9")
    assert "/replays link" in all_text(messages)
    assert replay_calls(bot.fake_tencent) == []


async def test_email_match_links_automatically(bot: RunningBot) -> None:
    # U1's Slack email equals Tencent user tester's (case aside): no link command needed.
    messages = await bot.ask("134 185 152 43")
    assert SPEC_EXAMPLE_REPLAYS[0]["video_url"] in [u for m in messages for u in button_urls(m)]
    assert "found by your email" in all_text(await bot.ask("help"))


async def test_not_the_creator(bot: RunningBot) -> None:
    await bot.ask("link other", user_id="U2")
    text = all_text(await bot.ask("134 185 152 43", user_id="U2"))
    assert "Only the creator" in text


async def test_unknown_meeting(bot: RunningBot) -> None:
    await bot.ask("link tester")
    text = all_text(await bot.ask("999 999 999"))
    assert "has no meeting 999999999" in text
    assert "meeting ID" in text  # the hint about codes recycled after 30 days


async def test_tencent_down_and_hanging_get_an_answer_within_10s(bot: RunningBot) -> None:
    await bot.ask("link tester")
    bot.fake_tencent.fail_next(10, status=503)
    started = time.monotonic()
    assert "isn't answering" in all_text(await bot.ask("134 185 152 43"))
    bot.fake_tencent.hang_next(10)
    assert "isn't answering" in all_text(await bot.ask("refresh 134 185 152 43"))
    assert time.monotonic() - started < 20  # two look-ups, each under 10 s


async def test_chinese_locale(bot: RunningBot, fake_tencent: FakeTencent) -> None:
    messages = await bot.ask("whoami", user_id="UZH")
    assert "我不知道你的腾讯会议账号" in all_text(messages)


async def test_share_in_channel(bot: RunningBot) -> None:
    await bot.ask("link tester")
    messages = await bot.ask("134 185 152 43")
    share = next(
        el
        for m in messages
        for b in m["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el.get("action_id") == "share_replays"
    )
    # Somebody else cannot share it.
    refused = await bot.slack.block_action(
        "share_replays", share["value"], user_id="U2", channel_id="C1"
    )
    assert refused.status == 200
    [answer] = await bot.fake_slack.wait_for_response(refused.response_url)
    assert "Only the person who looked" in str(answer)

    shared = await bot.slack.block_action(
        "share_replays", share["value"], user_id="U1", channel_id="C1"
    )
    assert shared.status == 200
    posted = await bot.fake_slack.wait_for_response(shared.response_url)
    await bot.idle()
    assert posted[0]["response_type"] == "in_channel"
    assert "<@U1>" in all_text(posted)
    assert SPEC_EXAMPLE_REPLAYS[0]["video_url"] in [u for m in posted for u in button_urls(m)]


async def test_a_card_is_shared_once(bot: RunningBot) -> None:
    await bot.ask("link tester")
    messages = await bot.ask("134 185 152 43")
    share = next(
        el
        for m in messages
        for b in m["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el.get("action_id") == "share_replays"
    )
    card = {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C1"}
    card["is_ephemeral"] = True

    shared = await bot.slack.block_action(
        "share_replays", share["value"], user_id="U1", channel_id="C1", container=card
    )
    assert shared.status == 200
    await bot.fake_slack.wait_for_response(shared.response_url, count=2)
    await bot.idle()
    *posted, replaced = bot.fake_slack.responses[shared.response_url.rsplit("/", 1)[-1]]
    assert [m["response_type"] for m in posted] == ["in_channel"] * len(posted)
    assert SPEC_EXAMPLE_REPLAYS[0]["video_url"] in [u for m in posted for u in button_urls(m)]
    # The person's card is replaced: no Share button left on it.
    assert replaced["replace_original"] is True
    assert replaced["response_type"] == "ephemeral"
    assert "Shared in this channel" in all_text([replaced])
    assert "share_replays" not in all_text([replaced])

    # A click on the stale card (or Slack delivering the click again) posts nothing new.
    again = await bot.slack.block_action(
        "share_replays", share["value"], user_id="U1", channel_id="C1", container=card
    )
    assert again.status == 200
    [answer] = await bot.fake_slack.wait_for_response(again.response_url)
    await bot.idle()
    assert answer["replace_original"] is True and answer["response_type"] == "ephemeral"
    assert "Shared in this channel" in all_text([answer])
    in_channel = [
        m
        for ms in bot.fake_slack.responses.values()
        for m in ms
        if m["response_type"] == "in_channel"
    ]
    assert len(in_channel) == len(posted)


async def test_sixty_replays_all_reachable_in_valid_messages(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    replays = [
        {
            "live_room_id": str(i),
            "live_subject": f"Part {i}",
            "video_url": f"https://meeting.tencent.com/l/r{i}",
        }
        for i in range(60)
    ]
    fake_tencent.add_meeting(
        "7000000000000000001", "555666777", subject="Conference", creator="tester", replays=replays
    )
    await bot.ask("link tester")
    messages = await bot.ask("555666777")
    assert len(messages) >= 2
    for message in messages:
        assert_valid_message(message)
    urls = {u for m in messages for u in button_urls(m)}
    assert {r["video_url"] for r in replays} <= urls
    assert bot.fake_slack.rejected == []


async def test_healthz(bot: RunningBot) -> None:
    async with bot.session.get(f"{bot.url}/healthz") as response:
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "ok" and body["database"] == "ok"


async def test_garbled_command_gets_a_clear_answer(bot: RunningBot) -> None:
    text = all_text(await bot.ask("frobnicate the meeting"))
    assert "help" in text
    assert bot.fake_tencent.calls == []


@pytest.mark.slow
async def test_commands_past_the_in_flight_limit_are_turned_away_at_once(bot: RunningBot) -> None:
    await bot.ask("link tester")
    assert bot.server.running is not None
    bot.server.running.in_flight.limit = 2
    bot.fake_tencent.latency = 1.0  # keeps the first two look-ups in flight for a second
    first = await bot.command("134 185 152 43")
    second = await bot.command("refresh 134 185 152 43")

    turned_away = await bot.command("refresh 134 185 152 43")
    assert turned_away.status == 200
    assert turned_away.elapsed < 1.0
    assert turned_away.json()["response_type"] == "ephemeral"
    assert "try again in a minute" in turned_away.json()["text"]
    # What needs no Tencent call still goes through.
    helped = await bot.command("whoami")
    assert "try again in a minute" not in helped.text
    assert "tester" in all_text(await bot.fake_slack.wait_for_response(helped.response_url))
    bot.fake_tencent.latency = 0.0

    # The two in flight are still answered; the third cost no Tencent call and gets no answer.
    for reply in (first, second):
        await bot.fake_slack.wait_for_response(reply.response_url)
    await bot.idle()
    assert turned_away.response_url is not None
    assert not bot.fake_slack.responses.get(turned_away.response_url.rsplit("/", 1)[-1])
    # at most one call each for the first two (the refresh may join the first one's call)
    assert len(replay_calls(bot.fake_tencent)) <= 2


# --- answers inside the acknowledgement ---------------------------------------------------------


async def test_a_cached_look_up_is_answered_inside_the_acknowledgement(bot: RunningBot) -> None:
    await bot.ask("link tester")
    first = await bot.command("134 185 152 43")
    assert not answered_in_ack(first)  # a Tencent call: acknowledged, then answered
    await bot.fake_slack.wait_for_response(first.response_url)
    await bot.idle()

    again = await bot.command("134 185 152 43")
    assert again.status == 200 and answered_in_ack(again)
    message = again.json()
    assert message["response_type"] == "ephemeral"
    assert_valid_message(message)
    assert {r["video_url"] for r in SPEC_EXAMPLE_REPLAYS} <= set(button_urls(message))
    await bot.idle()
    assert not bot.fake_slack.responses.get(again.response_url.rsplit("/", 1)[-1])
    assert replay_calls(bot.fake_tencent) == ["/v1/meetings/live_play/replays"]

    # an explicit refresh still asks Tencent, and answers on the response_url
    refreshed = await bot.command("refresh 134 185 152 43")
    assert not answered_in_ack(refreshed)
    await bot.fake_slack.wait_for_response(refreshed.response_url)
    assert len(replay_calls(bot.fake_tencent)) == 2


async def test_a_parse_error_and_help_are_answered_inside_the_acknowledgement(
    bot: RunningBot,
) -> None:
    await bot.ask("link tester")
    await bot.ask("134 185 152 43")  # the profile and the link are now in memory

    garbled = await bot.command("hello there")
    assert answered_in_ack(garbled)
    assert "meeting" in garbled.text.lower()
    assert_valid_message(garbled.json())

    helped = await bot.command("help")
    assert answered_in_ack(helped) and "tester" in helped.text

    await bot.idle()
    for reply in (garbled, helped):
        assert not bot.fake_slack.responses.get(reply.response_url.rsplit("/", 1)[-1])


async def test_only_the_creator_is_answered_inside_the_acknowledgement(bot: RunningBot) -> None:
    await bot.ask("link tester")
    await bot.ask("134 185 152 43")  # the creator's own look-up: the meeting's creator is known
    await bot.ask("link other", user_id="U2")
    first = all_text(await bot.ask("134 185 152 43", user_id="U2"))
    assert "Only the creator" in first

    again = await bot.command("134 185 152 43", user_id="U2")
    assert answered_in_ack(again)
    assert "Only the creator" in again.text and "<@U1>" in again.text
    assert replay_calls(bot.fake_tencent) == ["/v1/meetings/live_play/replays"]


async def test_a_first_time_caller_is_acknowledged_then_answered(
    bot: RunningBot, fake_slack: FakeSlack
) -> None:
    # Nothing about U7 is in memory (not even their language): the answer takes the long way.
    fake_slack.add_user("U7", email="u7@example.com")
    reply = await bot.command("hello there", user_id="U7")
    assert not answered_in_ack(reply)
    messages = await bot.fake_slack.wait_for_response(reply.response_url)
    assert "meeting" in all_text(messages).lower()
