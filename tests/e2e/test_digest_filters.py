"""Subject filters end to end: `/replays subscribe match <words>` on the real app, digests of
`meeting.end` webhooks posted only where the subject contains the words.

U1 is Tencent user `tester` (by email), the creator of every meeting here.
"""

from __future__ import annotations

import pytest

from bot.i18n import t
from tests.e2e.conftest import RunningBot
from tests.e2e.test_digests import DM_U1, ended, jobs_done, posted_urls, urls_of
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import FakeMeeting, FakeTencent


def add_meeting(fake_tencent: FakeTencent, n: int, subject: str) -> FakeMeeting:
    return fake_tencent.add_meeting(
        f"19000041289692{n:05d}",
        f"{710_000_000 + n}",
        subject=subject,
        creator="tester",
        replays=[
            {"video_url": f"https://meeting.tencent.com/l/f{n}", "live_room_id": f"{400_000 + n}"}
        ],
    )


@pytest.mark.slow
async def test_a_match_subscription_posts_only_the_meetings_whose_subject_matches(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    matching = add_meeting(fake_tencent, 1, "Team WEEKLY Sync #12")
    other = add_meeting(fake_tencent, 2, "1:1 with Dana")
    (answer,) = await bot.ask("subscribe match weekly sync", channel_id="CW")
    assert answer["text"] == t("subscribe_done_match", "en", words="weekly sync")
    (listing,) = await bot.ask("subscriptions", channel_id="CW")
    item = t("subscriptions_item_match", "en", words="weekly sync", user="<@U1>")
    assert item in listing["text"].splitlines()

    for meeting in (other, matching):
        assert (await bot.webhook(ended(meeting)))[0] == 200
        await jobs_done(bot, meeting.meeting_id)

    assert posted_urls(fake_slack, "CW") == [urls_of(matching)]
    # The creator's DM is about all of their meetings, filters or not.
    assert sorted(posted_urls(fake_slack, DM_U1)) == sorted([urls_of(matching), urls_of(other)])


async def test_unsubscribing_the_filter_stops_its_posts(
    bot: RunningBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    meeting = add_meeting(fake_tencent, 3, "周会 第3次")
    assert (await bot.ask("订阅 匹配 周会", channel_id="CZ"))[0]["text"] == t(
        "subscribe_done_match", "en", words="周会"
    )
    assert (await bot.ask("取消订阅 匹配 周会", channel_id="CZ"))[0]["text"] == t(
        "unsubscribe_done_match", "en", words="周会"
    )

    await bot.webhook(ended(meeting))
    await jobs_done(bot, meeting.meeting_id)

    assert fake_slack.posts_to("CZ") == []
    assert posted_urls(fake_slack, DM_U1) == [urls_of(meeting)]
