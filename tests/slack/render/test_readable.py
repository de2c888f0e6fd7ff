"""Every message the app can send, in both languages, reads as meant: Chinese bold and code that
Slack renders, buttons that say what they open, and a fallback `text` naming the meeting and
what it has to watch (`tests.slack.render.readable`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.home import HomeState
from bot.core.meetings import (
    HistoryEntry,
    LiveReplay,
    Meeting,
    MeetingRef,
    Recording,
    RecordingFile,
    RecordingState,
    Sharing,
)
from bot.core.outcomes import LookupProblem, LookupResult, Owner
from bot.core.parsing import Invalid, Problem
from bot.core.recent import RecentList, RecentMeeting
from bot.core.records import (
    DigestBacklog,
    EndedMeeting,
    Instance,
    Link,
    LinkMethod,
    Subscription,
    Visibility,
    WebhookNote,
)
from bot.core.status import Reachability, StatusReport
from bot.i18n import LOCALES, MESSAGES, Locale, t
from bot.slack.digest_sink import with_note
from bot.slack.render.digest_facts import gave_up_note, recording_removed_line, update_reply
from bot.slack.render.home import render_home
from bot.slack.render.messages import (
    CREATOR_PRIVATELY,
    render_digest,
    render_digest_give_up,
    render_invalid,
    render_lookup,
    render_shared,
    render_text,
)
from bot.slack.render.recent import render_recent
from bot.slack.render.share import render_share_done
from bot.slack.render.status import render_status
from tests.fakes.block_kit import assert_valid_message, assert_valid_view
from tests.slack.render.readable import (
    assert_accessible,
    assert_renders,
    buttons,
    marker_problems,
    template_problems,
)

START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
CODE = "295150176"
SUBJECTS = {"en": "Weekly sync", "zh": "周会"}
PARTS = {"en": ["Part one", "Part two", ""], "zh": ["第一部分", "第二部分", ""]}


def _meeting(locale: Locale, *, replays: int = 3, recorded: bool = True) -> Meeting:
    parts = PARTS[locale]
    live = tuple(
        LiveReplay(
            room_id=str(1000 + n),
            subject=parts[n % len(parts)],
            url=f"https://meeting.tencent.com/l/r{n}",
        )
        for n in range(replays)
    )
    files = tuple(
        RecordingFile(f"f{n}", start=START, end=START + timedelta(minutes=30), size_bytes=9_999_999)
        for n in range(2)
    )
    sharing = Sharing("https://meeting.tencent.com/v2/cloud-record/share?id=a", password="8642")
    recordings = (
        (
            Recording("r1", RecordingState.READY, files=files, sharing=sharing, start=START),
            Recording("r2", RecordingState.READY, files=files[:1], sharing=None, start=START),
            Recording("r3", RecordingState.PROCESSING, start=START),
        )
        if recorded
        else ()
    )
    return Meeting("7567173273889276131", CODE, SUBJECTS[locale], live, recordings)


def _watched(meeting: Meeting, locale: Locale) -> list[str]:
    """What the fallback must name: the meeting, each replay and each recording file."""
    replays = [
        replay.subject or t("untitled_replay", locale, n=n)
        for n, replay in enumerate(meeting.live_replays, 1)
    ]
    files = sum(len(recording.files) for recording in meeting.recordings)
    recordings = [t("recording_file_name", locale, n=n) for n in range(1, files + 1)]
    return [meeting.subject, *replays, *recordings]


def _ended(meeting: Meeting) -> EndedMeeting:
    return EndedMeeting(
        "meeting.end:m1:1",
        meeting.meeting_id,
        meeting.code,
        meeting.subject,
        "alice",
        start_time=START,
        end_time=START + timedelta(hours=1),
        creator_name="Alice",
        meeting_type=1,
        sub_meeting_id="1714550400",
    )


def _recent(locale: Locale) -> RecentList:
    big = _meeting(locale, replays=30, recorded=False)
    entries = [
        RecentMeeting(HistoryEntry(m.meeting_id, m.code, m.subject, START, START), m)
        for m in (_meeting(locale), _meeting(locale, replays=1, recorded=False), big)
    ]
    unchecked = (HistoryEntry("m9", "806146667", SUBJECTS[locale], START, START),)
    return RecentList(days=7, shown=tuple(entries), ended=5, unchecked=unchecked)


def _results(locale: Locale) -> list[LookupResult]:
    return [
        LookupResult(MeetingRef("code", CODE), meetings=(_meeting(locale),)),
        LookupResult(MeetingRef("code", "806146667"), problem=LookupProblem.NOT_CREATOR),
        LookupResult(
            MeetingRef("code", "111222333"), problem=LookupProblem.BUSY, owner=Owner("bob", None)
        ),
        LookupResult(MeetingRef("code", "444555666")),
        *(
            LookupResult(MeetingRef("id", "7567173273889276131"), problem=problem, owner=bob)
            for problem in LookupProblem
            for bob in (Owner("bob", None), Owner("bob", "UBOB"))
        ),
        LookupResult(
            MeetingRef("code", "806146667"),
            meetings=(_meeting(locale, replays=1),),
            owner=Owner("bob", None),
        ),
    ]


def _status() -> StatusReport:
    instance = Instance("i-1", "host-a", "1.0", START, START)
    return StatusReport(
        version="1.0",
        this_instance="i-1",
        instances=[instance],
        backlog=DigestBacklog(by_state={"pending": 1}, due=1, oldest_due_at=START),
        oldest_due_age=12.0,
        budget_used=3,
        budget_limit=100,
        last_webhook=WebhookNote(START, "accepted", "i-1"),
        tencent=Reachability(True, "ok"),
        slack=Reachability(False, "timeout"),
        now=START + timedelta(minutes=5),
    )


def _messages(locale: Locale) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(kind, message, what its fallback must name) for every message the app sends."""
    meeting = _meeting(locale)
    watched = _watched(meeting, locale)
    many = _meeting(locale, replays=60, recorded=False)
    subject = meeting.subject
    kinds: list[tuple[str, list[dict[str, Any]], list[str]]] = [
        (
            "lookup answer",
            render_lookup(
                _results(locale), locale=locale, requester="U1", shareable=True, private=True
            ),
            watched,
        ),
        (
            "lookup answer with overflow",
            render_lookup(
                [LookupResult(MeetingRef("code", CODE), meetings=(many,))],
                locale=locale,
                requester="U1",
                shareable=True,
            ),
            [subject],
        ),
        ("share post", render_shared(_results(locale), locale=locale, shared_by="U1"), watched),
        ("share done", [render_share_done(locale)], []),
        (
            "channel digest",
            render_digest(meeting, locale=locale, ended=_ended(meeting), creator_slack_id="U1"),
            watched,
        ),
        (
            "DM digest",
            render_digest(meeting, locale=locale, ended=_ended(meeting), reader=CREATOR_PRIVATELY),
            watched,
        ),
        (
            "update thread reply",
            [update_reply(subject, PARTS[locale][:2], locale, recording_files=2)],
            [subject, *PARTS[locale][:2]],
        ),
        (
            "give-up note",
            [
                render_digest_give_up(
                    subject=subject, meeting_code=CODE, waited_seconds=3600, locale=locale
                )
            ],
            [subject],
        ),
        ("gave-up DM", [gave_up_note(_ended(meeting), 3600, locale)], [subject]),
        (
            "digest updated: recording removed",
            [
                with_note(message, recording_removed_line(locale))
                for message in render_digest(meeting, locale=locale, ended=_ended(meeting))
            ],
            watched,
        ),
        (
            "recent list",
            render_recent(_recent(locale), locale=locale),
            [subject, *PARTS[locale][:2]],
        ),
        ("status", [render_status(_status(), locale)], []),
    ]
    for status in (
        t("status_not_linked", locale),
        t("status_linked", locale, userid="alice"),
        t("whoami_admin", locale, userid="alice", admin="<@UADMIN>"),
    ):
        kinds.append(("help", [render_text(t("help", locale, status=status))], []))
    kinds += [
        ("invalid", [render_invalid(Invalid(problem, "x y"), locale=locale)], [])
        for problem in Problem
    ]
    return [(kind, message, names) for kind, messages, names in kinds for message in messages]


def _home(locale: Locale) -> dict[str, Any]:
    subscriptions = tuple(
        Subscription("T1", f"C{n}", "alice", code, "U1", START)
        for n, code in enumerate([None, CODE, None])
    )
    link = Link("T1", "U1", "alice", LinkMethod.SELF_VERIFIED, "U1", START, START)
    state = HomeState(link, "alice", Visibility.ME, True, subscriptions, _recent(locale))
    return render_home(state, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_bold_and_code_marker_of_the_texts_renders(locale: Locale) -> None:
    problems = {
        key: found
        for key, templates in MESSAGES.items()
        if (found := template_problems(templates[locale]))
    }
    assert problems == {}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_renders_its_bold_and_code(locale: Locale) -> None:
    messages = [message for _, message, _ in _messages(locale)]
    assert_renders([*messages, _home(locale)])


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_names_what_it_is_about_and_every_button_what_it_opens(
    locale: Locale,
) -> None:
    for kind, message, names in _messages(locale):
        assert_valid_message(message)
        try:
            assert_accessible(message, names=names)
        except AssertionError as error:
            raise AssertionError(f"{kind}: {error}") from error
    home = _home(locale)
    assert_valid_view(home)
    assert_accessible(home)


@pytest.mark.parametrize("locale", LOCALES)
def test_buttons_say_what_they_open_of_which_meeting(locale: Locale) -> None:
    answer = render_lookup(
        _results(locale), locale=locale, requester="U1", shareable=True, private=True
    )
    spoken = [button["accessibility_label"] for message in answer for button in buttons(message)]
    subject = SUBJECTS[locale]
    assert t("watch_label", locale, name=PARTS[locale][0], subject=subject) in spoken
    assert t("share_label", locale, subjects=subject) in spoken
    assert all(subject in label for label in spoken)
    home = buttons(_home(locale))
    unsubscribe = [b["accessibility_label"] for b in home if b.get("style") == "danger"]
    assert unsubscribe == [
        t("home_unsubscribe_label", locale, n=1, what=t("home_subscription_what_mine", locale)),
        t(
            "home_unsubscribe_label",
            locale,
            n=2,
            what=t("home_subscription_what_code", locale, code=CODE),
        ),
        t("home_unsubscribe_label", locale, n=3, what=t("home_subscription_what_mine", locale)),
    ]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_recent_list_numbers_each_button_once_and_says_how_to_see_the_rest(
    locale: Locale,
) -> None:
    [message] = render_recent(_recent(locale), locale=locale)
    labels = [button["text"]["text"] for button in buttons(message)]
    assert f"1. {PARTS[locale][0]}" in labels
    assert t("untitled_replay", locale, n=3) in labels  # not "3. Live replay 3"
    assert not [label for label in labels if label.startswith("3. ")]
    # 30 replays, 25 buttons: the card says how many more and what lists them all.
    rest = t("recent_more_replays", locale, count=5, code=CODE)
    assert any(
        rest in text
        for text in [block.get("text", {}).get("text", "") for block in message["blocks"]]
    )


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("*粗体* 和 `代码`", 0),
        ("会议 *周会* 的回看：\u200b`295150176`\u200b。", 0),
        ("会议*周会*的回看", 1),
        ("*周会*（295150176）", 1),
        ("密码：`8642`", 1),
        ("*When:* <!date^1^{date_short_pretty}|2024>", 0),
        ("a lone * here", 1),
        ("`*not bold*`", 0),
    ],
)
def test_the_marker_check_finds_what_slack_would_show_literally(text: str, problems: int) -> None:
    assert len(marker_problems(text)) == problems
