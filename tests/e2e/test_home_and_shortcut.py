"""App Home (views.publish, within Slack's 100 blocks) and the "Find replays" message shortcut,
end to end against the fake Slack and the fake Tencent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.records import LinkMethod
from bot.i18n import t
from bot.slack.ids import HOME_DM_ACTION_ID, HOME_REFRESH_ACTION_ID
from tests.e2e.conftest import RunningBot
from tests.fakes.tencent import SPEC_EXAMPLE_CREATOR, SPEC_EXAMPLE_MEETING_CODE, FakeTencent

NOW = datetime.now(UTC)


def flat(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def open_home(bot: RunningBot, user_id: str) -> dict[str, Any]:
    bot.fake_slack.homes.pop(user_id, None)
    reply = await bot.slack.app_home_opened(user_id=user_id)
    assert reply.status == 200
    await bot.fake_slack.wait_until(lambda: user_id in bot.fake_slack.homes)
    return bot.fake_slack.homes[user_id]


def buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for block in view["blocks"]:
        if block.get("accessory", {}).get("type") == "button":
            found.append(block["accessory"])
        if block["type"] == "actions":
            found += block["elements"]
    return found


async def click(bot: RunningBot, user_id: str, button: dict[str, Any]) -> dict[str, Any]:
    bot.fake_slack.homes.pop(user_id, None)
    container = {"type": "view", "view_id": f"V{user_id}"}
    reply = await bot.slack.block_action(
        button["action_id"], button["value"], user_id=user_id, channel_id="", container=container
    )
    assert reply.status == 200
    await bot.fake_slack.wait_until(lambda: user_id in bot.fake_slack.homes)
    return bot.fake_slack.homes[user_id]


async def test_home_of_an_unlinked_person_says_how_to_link(bot: RunningBot) -> None:
    bot.fake_slack.add_user("UNEW", email="nobody@example.com")
    view = await open_home(bot, "UNEW")
    assert t("status_not_linked", "en") in flat(view)
    assert bot.fake_slack.rejected == []


async def test_home_of_a_linked_person_unsubscribe_and_dm_switch(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    end = NOW - timedelta(hours=3)
    fake_tencent.add_meeting(
        "1900000000000000777",
        "777000777",
        subject="Town hall",
        creator=SPEC_EXAMPLE_CREATOR,
        replays=[{"video_url": "https://meeting.tencent.com/l/th", "live_subject": "Town hall"}],
        start=end - timedelta(hours=1),
        end=end,
    )
    await bot.ask("subscribe", channel_id="C7")
    await bot.ask(f"subscribe {SPEC_EXAMPLE_MEETING_CODE}", channel_id="C8")

    view = await open_home(bot, "U1")
    text = flat(view)
    assert t("status_linked_by_email", "en", userid=SPEC_EXAMPLE_CREATOR) in text
    assert t("visibility_status_me", "en") in text
    assert "*Town hall*" in text and "https://meeting.tencent.com/l/th" in text
    assert t("home_dm_on", "en") in text
    assert t("home_subscription_mine", "en", channel="<#C7>") in text
    calls = len(fake_tencent.calls)
    await open_home(bot, "U1")
    assert len(fake_tencent.calls) == calls, "opened again: the recent list comes from the cache"

    unsubscribe = [b for b in buttons(view) if b["action_id"].startswith("home_unsubscribe")]
    assert len(unsubscribe) == 2
    view = await click(bot, "U1", unsubscribe[0])
    assert t("home_subscriptions", "en", count=1) in flat(view)
    assert len(await bot.server.running.database.storage.subscriptions.made_by("T0001", "U1")) == 1  # type: ignore[union-attr]

    (dm,) = [b for b in buttons(view) if b["action_id"] == HOME_DM_ACTION_ID]
    view = await click(bot, "U1", dm)
    assert t("home_dm_off", "en") in flat(view)
    storage = bot.server.running.database.storage  # type: ignore[union-attr]
    assert await storage.preferences.dm_digests_enabled("T0001", "U1") is False

    (refresh,) = [b for b in buttons(view) if b["action_id"] == HOME_REFRESH_ACTION_ID]
    history = sum(1 for c in fake_tencent.calls if c.path.startswith("/v1/history/"))
    await click(bot, "U1", refresh)
    assert sum(1 for c in fake_tencent.calls if c.path.startswith("/v1/history/")) == history + 1
    assert bot.fake_slack.rejected == []


async def test_home_stays_within_100_blocks_with_200_subscriptions_and_90_days(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    for n in range(60):
        # 20 in the last week (more than the ten shown), the others spread over 90 days
        end = NOW - timedelta(days=n * 0.3 + 0.1 if n < 20 else n * 1.45)
        fake_tencent.add_meeting(
            f"{1900000000000001000 + n}",
            f"{600000000 + n}",
            subject=f"Meeting {n} " + "x" * 200,
            creator=SPEC_EXAMPLE_CREATOR,
            replays=[{"video_url": f"https://meeting.tencent.com/l/{n}-{r}"} for r in range(30)],
            start=end - timedelta(hours=1),
            end=end,
        )
    await bot.ask("whoami")
    storage = bot.server.running.database.storage  # type: ignore[union-attr]
    for n in range(200):
        await storage.subscriptions.add(
            "T0001", f"C{n:03d}", SPEC_EXAMPLE_CREATOR, None, created_by="U1"
        )
    await storage.links.save(
        "T0001", "U1", SPEC_EXAMPLE_CREATOR, method=LinkMethod.ADMIN, linked_by="UADMIN"
    )

    view = await open_home(bot, "U1")

    assert len(view["blocks"]) <= 100
    assert t("home_subscriptions", "en", count=200) in flat(view)
    shown = [b for b in buttons(view) if b["action_id"].startswith("home_unsubscribe")]
    assert 0 < len(shown) < 200
    assert t("home_more_subscriptions", "en", count=200 - len(shown)) in flat(view)
    assert sum("*Meeting " in b.get("text", {}).get("text", "") for b in view["blocks"]) == 10
    assert bot.fake_slack.rejected == []


async def shortcut(bot: RunningBot, text: str, user_id: str = "U1") -> list[dict[str, Any]]:
    reply = await bot.slack.message_shortcut("find_replays", text, user_id=user_id)
    assert reply.status == 200
    assert reply.response_url is not None
    await bot.fake_slack.wait_for_response(reply.response_url)
    await bot.idle()
    return bot.fake_slack.responses[reply.response_url.rsplit("/", 1)[-1]]


async def test_shortcut_on_a_pasted_invitation(bot: RunningBot) -> None:
    invitation = (
        "tester 邀请您参加腾讯会议\n会议主题：tester预定的会议\n会议时间：2025/03/12 14:00-15:00\n\n"
        f"点击链接入会，或添加至会议列表：\nhttps://meeting.tencent.com/dm/abcDEF\n\n"
        f"#腾讯会议：{SPEC_EXAMPLE_MEETING_CODE[:3]}-{SPEC_EXAMPLE_MEETING_CODE[3:6]}-"
        f"{SPEC_EXAMPLE_MEETING_CODE[6:]}"
    )
    messages = await shortcut(bot, invitation)
    assert "https://meeting.tencent.com/l/xxxx" in flat(messages)
    assert all(m.get("response_type", "ephemeral") == "ephemeral" for m in messages)


async def test_shortcut_on_a_message_with_three_codes(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    for n in (1, 2):
        fake_tencent.add_meeting(
            f"190000000000000{n:04d}",
            f"{n}11222333",
            subject=f"Extra {n}",
            creator=SPEC_EXAMPLE_CREATOR,
            replays=[{"video_url": f"https://meeting.tencent.com/l/extra{n}"}],
        )
    messages = await shortcut(
        bot, f"replays? {SPEC_EXAMPLE_MEETING_CODE}, 111 222 333 and 211222333"
    )
    text = flat(messages)
    for url in ("l/xxxx", "l/extra1", "l/extra2"):
        assert f"https://meeting.tencent.com/{url}" in text


async def test_shortcut_on_a_message_without_a_meeting(bot: RunningBot) -> None:
    messages = await shortcut(bot, "see you all tomorrow at the all-hands")
    assert t("shortcut_no_meeting", "en") in flat(messages)
