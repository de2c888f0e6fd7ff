"""What a digest says, rendered from a recorded `meeting.end` payload: Slack date tokens with
their fallback, the duration, the creator, the occurrence; and Block Kit's limits kept."""

from __future__ import annotations

import dataclasses
import json

from bot.core.meetings import LiveReplay, Meeting
from bot.i18n import format_duration, t
from bot.meeting.webhook import meetings_ended, parse_event
from bot.slack.render.messages import render_digest
from tests.fakes.block_kit import assert_valid_message
from tests.fakes.tencent_webhook import meeting_end_event

START = 1_764_064_800  # 2025-11-25 10:00 UTC


def recorded_end(subject: str = "Weekly sync", *, recurring: bool = False) -> dict[str, object]:
    event = meeting_end_event(
        "7567173273889276131",
        "806146667",
        subject,
        "alice",
        start_time=START,
        end_time=START + 5400,
        creator_name="Alice Li",
    )
    if recurring:
        info = event["payload"][0]["meeting_info"]
        info.update(meeting_type=1, sub_meeting_id="1764064800")
    return event


def replays(n: int) -> Meeting:
    return Meeting(
        meeting_id="7567173273889276131",
        code="806146667",
        subject="Weekly sync",
        live_replays=tuple(
            LiveReplay(url=f"https://meeting.tencent.com/l/r{k}", subject=f"Part {k}")
            for k in range(1, n + 1)
        ),
    )


def test_a_digest_says_when_how_long_and_whose_with_the_creator_mentioned() -> None:
    (ended,) = meetings_ended(parse_event(json.dumps(recorded_end()).encode()))
    (message,) = render_digest(replays(2), locale="en", ended=ended, creator_slack_id="U1")
    intro = message["blocks"][0]["text"]["text"]
    date = f"<!date^{START}^{{date_short_pretty}} {{time}}|2025-11-25 10:00 UTC>"
    assert t("digest_when", "en", date=date) in intro
    assert t("digest_duration", "en", duration=format_duration(5400, "en")) in intro
    assert t("digest_host", "en", host="<@U1>") in intro
    assert date in message["text"]  # the notification text carries it too
    assert_valid_message(message)


def test_an_unlinked_creator_is_named_and_a_recurring_occurrence_said_in_chinese() -> None:
    (ended,) = meetings_ended(parse_event(json.dumps(recorded_end(recurring=True)).encode()))
    (message,) = render_digest(replays(1), locale="zh", ended=ended, creator_slack_id=None)
    intro = message["blocks"][0]["text"]["text"]
    assert t("digest_host", "zh", host="Alice Li") in intro
    date = f"<!date^{START}^{{date_short_pretty}} {{time}}|2025-11-25 10:00 UTC>"
    assert t("digest_recurring", "zh", occurrence=date) in intro


def test_sixty_replays_and_a_500_character_subject_stay_within_block_kit() -> None:
    subject = "长" * 250 + "x*_~`<&>" * 31 + "end"
    (ended,) = meetings_ended(parse_event(json.dumps(recorded_end(subject[:500])).encode()))
    meeting = dataclasses.replace(replays(60), subject=subject[:500])
    messages = render_digest(meeting, locale="en", ended=ended, creator_slack_id="U1")
    assert len(messages) >= 2
    for message in messages:
        assert_valid_message(message)
    shown = [b for m in messages for b in m["blocks"] if b.get("accessory")]
    assert len(shown) == 60
