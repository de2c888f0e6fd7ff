"""Cloud recordings end to end: `/replays <code>` against the real app and the fakes finds what a
meeting's creator recorded, and shows each reader only what they may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.i18n import t
from bot.meeting.client import TencentMeetingClient
from tests.e2e.conftest import RunningBot
from tests.fakes.block_kit import assert_valid_message, button_urls
from tests.fakes.tencent import TRANSCODING, FakeTencent, RecordingSharing

RECORDED_ID = "7000000000000000001"
RECORDED_CODE = "700000001"
PASSWORD = "8642"
#: what Tencent asks of the viewer, as seeded: members of the enterprise, a password, a date
EXPIRES = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
SHARING = RecordingSharing(password=PASSWORD, expires=EXPIRES, required_same_corp=True)


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m) for m in messages)


def urls_of(messages: list[dict[str, Any]]) -> list[str]:
    return [url for m in messages for url in button_urls(m)]


def recorded_meeting(
    fake: FakeTencent, *, sharing: RecordingSharing | None = SHARING, files: int = 2
) -> None:
    """A meeting `tester` created and recorded to the cloud, and never streamed."""
    fake.add_meeting(RECORDED_ID, RECORDED_CODE, subject="Design review", creator="tester")
    fake.add_recording(RECORDED_ID, files=files, sharing=sharing)


def records_operators(fake: FakeTencent) -> set[str]:
    return {c.query.get("operator_id", "") for c in fake.calls_to("records")}


async def test_the_creator_sees_the_files_the_link_its_conditions_and_the_password(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    recorded_meeting(fake_tencent)
    await bot.ask("link tester")

    messages = await bot.ask(RECORDED_CODE)

    for message in messages:
        assert_valid_message(message)
        assert message["response_type"] == "ephemeral"
    text = text_of(messages)
    assert "Design review" in messages[0]["text"]
    assert fake_tencent.sharing_url(RECORDED_ID) in urls_of(messages)
    assert t("recording_password", "en", password=PASSWORD) in text
    assert t("recording_members_only", "en") in text
    assert f"<!date^{int(EXPIRES.timestamp())}^" in text
    assert "File 1" in text and "File 2" in text and "30 min" in text and "50.0 MB" in text
    assert "cos.fake-tencent.invalid" not in text, "never a download address"
    # The query ran as the creator, never as the operator account (an admin).
    assert records_operators(fake_tencent) == {"tester"}
    (query,) = [c.query for c in fake_tencent.calls_to("records")]
    assert (query["operator_id_type"], query["meeting_code"], query["page"]) == (
        "1",
        RECORDED_CODE,
        "1",
    )
    assert int(query["end_time"]) - int(query["start_time"]) == 31 * 86400


async def test_a_workspace_member_sees_it_without_the_password_and_others_get_no_call(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    recorded_meeting(fake_tencent)
    await bot.ask("link tester")
    await bot.ask(RECORDED_CODE)  # the creator's own look-up: the app learns whose it is

    # The creator keeps `visibility me`: a refusal, and Tencent is not asked.
    calls = fake_tencent.call_counts()
    refused = await bot.ask(RECORDED_CODE, user_id="U2")
    ref = t("ref_code", "en", code=RECORDED_CODE)
    assert t("lookup_only_creator", "en", ref=ref, owner="<@U1>") in text_of(refused)
    assert fake_tencent.call_counts() == calls, "a refusal costs no Tencent call"

    await bot.ask("visibility workspace")
    shown = await bot.ask(f"refresh {RECORDED_CODE}", user_id="U2")

    text = text_of(shown)
    assert fake_tencent.sharing_url(RECORDED_ID) in urls_of(shown)
    assert t("recording_members_only", "en") in text
    assert PASSWORD not in text
    assert t("recording_password_protected", "en") in text
    assert records_operators(fake_tencent) == {"tester"}, "asked as the creator, for U2 too"


async def test_sharing_off_the_creator_gets_the_player_page_others_are_told_it_is_not_shared(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    recorded_meeting(fake_tencent, sharing=None, files=5)
    await bot.ask("link tester")

    mine = await bot.ask(RECORDED_CODE)

    assert "sharing is off" in text_of(mine)
    players = [u for u in urls_of(mine) if "meeting-record/info" in u]
    assert len(players) == 3, "player pages for the first few files only"
    addresses = fake_tencent.calls_to("addresses")
    assert {c.query["operator_id"] for c in addresses} == {"tester"}
    assert len(addresses) == 3

    await bot.ask("visibility workspace")
    theirs = await bot.ask(RECORDED_CODE, user_id="U2")
    assert t("recording_not_shared", "en", n=1) in text_of(theirs)
    assert not [u for u in urls_of(theirs) if "meeting-record/info" in u]
    assert len(fake_tencent.calls_to("addresses")) == 3, "no player page fetched for others"


async def test_a_meeting_streamed_and_recorded_is_one_card_with_both_within_limits(
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
        RECORDED_ID, RECORDED_CODE, subject="All hands", creator="tester", replays=replays
    )
    fake_tencent.add_recording(RECORDED_ID, files=60, sharing=SHARING)
    await bot.ask("link tester")

    messages = await bot.ask(RECORDED_CODE)

    assert 1 <= len(messages) <= 5
    for message in messages:
        assert_valid_message(message)
    text = text_of(messages)
    assert t("kind_live_replays", "en") in text and t("kind_recordings", "en") in text
    assert "All hands" in messages[0]["text"]
    urls = urls_of(messages)
    assert "https://meeting.tencent.com/l/r0" in urls
    assert fake_tencent.sharing_url(RECORDED_ID) in urls
    assert len(fake_tencent.calls_to("records")) == 1


async def test_a_recording_still_transcoding_says_processing(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    fake_tencent.add_meeting(RECORDED_ID, RECORDED_CODE, subject="Retro", creator="tester")
    fake_tencent.add_recording(RECORDED_ID, state=TRANSCODING, sharing=SHARING)
    await bot.ask("link tester")

    messages = await bot.ask(RECORDED_CODE)

    text = text_of(messages)
    assert t("recording_processing", "en", n=1) in text
    assert t("no_replays", "en") not in text

    fake_tencent.finish_transcoding(RECORDED_ID)
    ready = await bot.ask(f"refresh {RECORDED_CODE}")
    assert fake_tencent.sharing_url(RECORDED_ID) in urls_of(ready)


async def test_sharing_a_recorded_meeting_in_the_channel_posts_no_password(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    recorded_meeting(fake_tencent)
    await bot.ask("link tester")
    messages = await bot.ask(RECORDED_CODE)
    assert PASSWORD in text_of(messages), "the creator's own ephemeral answer has it"
    share = next(
        el
        for m in messages
        for b in m["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el.get("action_id") == "share_replays"
    )

    shared = await bot.slack.block_action(
        "share_replays", share["value"], user_id="U1", channel_id="C1"
    )
    posted = await bot.fake_slack.wait_for_response(shared.response_url)
    await bot.idle()

    assert posted[0]["response_type"] == "in_channel"
    for message in posted:
        assert_valid_message(message)
        assert PASSWORD not in message["text"]
        assert PASSWORD not in str(message["blocks"])
    assert t("recording_password_protected", "en") in text_of(posted)
    assert fake_tencent.sharing_url(RECORDED_ID) in urls_of(posted)


async def test_the_client_reads_every_page_as_the_given_operator(
    fake_tencent: FakeTencent, tencent_client: TencentMeetingClient
) -> None:
    fake_tencent.add_user("tester")
    fake_tencent.add_meeting(RECORDED_ID, RECORDED_CODE, subject="Daily", creator="tester")
    now = datetime.now(UTC)
    for n in range(45):
        fake_tencent.add_recording(RECORDED_ID, start=now - timedelta(hours=n + 1))

    [found] = await tencent_client.recordings_by_id(RECORDED_ID, userid="tester")

    assert len(found.meeting.recordings) == 45
    assert found.host_userid == "tester"
    pages = [c.query["page"] for c in fake_tencent.calls_to("records")]
    assert pages == ["1", "2", "3"]
    file_id = found.meeting.recordings[0].files[0].file_id
    page = await tencent_client.player_page(file_id, userid="tester")
    assert page.endswith(file_id) and "cos." not in page


async def test_the_creators_dm_has_the_password_and_a_mention_in_a_channel_has_not(
    bot: RunningBot, fake_tencent: FakeTencent
) -> None:
    recorded_meeting(fake_tencent)
    await bot.ask("link tester")
    dm = {
        "type": "message",
        "channel_type": "im",
        "channel": "DU1",
        "user": "U1",
        "text": RECORDED_CODE,
        "ts": "1700000001.000100",
        "event_ts": "1700000001.000100",
    }
    assert (await bot.slack.event(dm)).status == 200
    await bot.idle()
    in_dm = await bot.fake_slack.wait_for_posts(1, channel="DU1")
    assert t("recording_password", "en", password=PASSWORD) in text_of(in_dm)

    reply = await bot.slack.app_mention(RECORDED_CODE, user_id="U1", channel="C1")
    assert reply.status == 200
    await bot.idle()
    in_thread = await bot.fake_slack.wait_for_posts(1, channel="C1")
    assert fake_tencent.sharing_url(RECORDED_ID) in urls_of(in_thread)
    assert PASSWORD not in text_of(in_thread)
    assert t("recording_password_protected", "en") in text_of(in_thread)
