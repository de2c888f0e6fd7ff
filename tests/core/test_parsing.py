"""What `/replays` text and mentions parse into: DESIGN.md's grammar, codes as people paste them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.meetings import MeetingRef
from bot.core.parsing import (
    COMMAND_TYPES,
    MAX_REFS,
    DmDigests,
    Help,
    Invalid,
    LinkCommand,
    Lookup,
    Problem,
    Recent,
    Refresh,
    SetVisibility,
    Status,
    Subscribe,
    Subscriptions,
    Unlink,
    Unsubscribe,
    WhoAmI,
    _parse_refs,
    find_meeting_refs,
    normalize,
    parse_command,
)
from bot.core.records import Visibility

ZH_INVITATION = """张三 邀请您参加腾讯会议
会议主题：周会
会议时间：2024/03/12 14:00-15:00 (GMT+08:00) 中国标准时间 - 北京

点击链接入会，或添加至会议列表：
https://meeting.tencent.com/dm/AbCdEfGhIjKl

#腾讯会议：295-150-176

复制该信息，打开手机腾讯会议即可参与
"""

EN_INVITATION = """John Smith invites you to a Tencent Meeting
Meeting Subject: Weekly sync
Meeting Time: 2024/03/12 14:00-15:00 (GMT+08:00) China Standard Time - Beijing

Click the link to join the meeting or add it to your meeting list:
https://meeting.tencent.com/dm/AbCdEfGhIjKl

#Tencent Meeting: 295-150-176
"""

# An invitation with one-tap dial-in lines: phone numbers and the code glued to them must not count.
ZH_INVITATION_WITH_DIAL_IN = (
    ZH_INVITATION
    + """
手机一键拨号入会
+8675536550000,,295150176# (中国大陆)
+85230018898,,295150176# (中国香港)

根据您的位置拨号
+8675536550000 (中国大陆)
+85230018898 (中国香港)
"""
)


def code(value: str) -> MeetingRef:
    return MeetingRef("code", value)


def mid(value: str) -> MeetingRef:
    return MeetingRef("id", value)


# ---------------------------------------------------------------------------------------------
# meeting codes and IDs as people write them


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("134 185 152 43", (code("13418515243"),)),
        ("13418515243", (code("13418515243"),)),
        ("295-150-176", (code("295150176"),)),
        ("#腾讯会议：295-150-176", (code("295150176"),)),
        ("#腾讯会议:295150176", (code("295150176"),)),
        ("#Tencent Meeting: 295-150-176", (code("295150176"),)),
        ("#VooV Meeting: 295 150 176", (code("295150176"),)),
        ("会议号：295 150 176", (code("295150176"),)),
        ("295\u00a0150\u00a0176", (code("295150176"),)),
        ("295\u202f150\u202f176", (code("295150176"),)),
        ("295'150'176", (code("295150176"),)),
        ("295\u2019150\u2019176", (code("295150176"),)),
        ("295\u2013150\u2013176", (code("295150176"),)),
        ("２９５－１５０－１７６", (code("295150176"),)),
        ("#腾讯会议：２９５１５０１７６", (code("295150176"),)),
        ("295 150 176 806 146 667", (code("295150176"), code("806146667"))),
        ("295-150-176 806-146-667", (code("295150176"), code("806146667"))),
        ("295-150-176 806146667", (code("295150176"), code("806146667"))),
        ("295150176, 806146667", (code("295150176"), code("806146667"))),
        ("295150176\n806146667", (code("295150176"), code("806146667"))),
        ("1234567890", (code("1234567890"),)),
        ("123456789012", (code("123456789012"),)),
        ("7567173273889276131", (mid("7567173273889276131"),)),
        ("75671732738892761310", (mid("75671732738892761310"),)),
        ("7567 1732 7388 9276 131", (mid("7567173273889276131"),)),
        ("会议295150176的回看", (code("295150176"),)),
        ("`295150176`", (code("295150176"),)),
        ("please look up 295150176 thanks", (code("295150176"),)),
    ],
)
def test_meeting_references_as_people_write_them(text: str, refs: tuple[MeetingRef, ...]) -> None:
    assert parse_command(text) == Lookup(refs=refs)


@pytest.mark.parametrize(
    "text",
    [
        "12345678",  # 8 digits: too short for a code
        "1234567890123",  # 13 digits: neither a code nor an ID
        "123456789012345678",  # 18 digits
        "123456789012345678901",  # 21 digits
        "2024/03/12 14:00-15:00",
        "+8613800138000",
        "3.14159265358",
        "version 1.234567890",
        "abc123456789",
        "123456789abc",
    ],
)
def test_numbers_of_other_shapes_are_not_meetings(text: str) -> None:
    assert find_meeting_refs(text) == ()


def test_ids_stay_strings_beyond_int64() -> None:
    big = "99999999999999999999"  # 20 digits, more than int64 holds
    assert parse_command(big) == Lookup((mid(big),))
    assert parse_command(big).refs[0].value == big  # type: ignore[union-attr]


def test_several_references_are_deduplicated_in_order() -> None:
    text = "806146667 295-150-176 806 146 667 7567173273889276131 295150176"
    assert parse_command(text) == Lookup(
        (code("806146667"), code("295150176"), mid("7567173273889276131"))
    )


def test_up_to_the_cap_is_fine_and_beyond_it_is_refused() -> None:
    codes = [str(100_000_000 + n) for n in range(MAX_REFS + 1)]
    assert parse_command(" ".join(codes[:MAX_REFS])) == Lookup(
        tuple(code(c) for c in codes[:MAX_REFS])
    )
    assert parse_command(" ".join(codes)) == Invalid(Problem.TOO_MANY, str(MAX_REFS + 1))


# ---------------------------------------------------------------------------------------------
# invitations and links


@pytest.mark.parametrize("invitation", [ZH_INVITATION, EN_INVITATION, ZH_INVITATION_WITH_DIAL_IN])
def test_a_pasted_invitation_finds_its_code_and_nothing_else(invitation: str) -> None:
    assert parse_command(invitation) == Lookup((code("295150176"),))
    assert find_meeting_refs(invitation) == (code("295150176"),)


def test_an_invitation_in_full_width_characters_still_finds_its_code() -> None:
    text = ZH_INVITATION.replace("295-150-176", "２９５－１５０－１７６")
    assert parse_command(text) == Lookup((code("295150176"),))


def test_two_pasted_invitations_give_both_codes() -> None:
    text = ZH_INVITATION + EN_INVITATION.replace("295-150-176", "806-146-667")
    assert find_meeting_refs(text) == (code("295150176"), code("806146667"))


@pytest.mark.parametrize(
    "text",
    [
        "https://meeting.tencent.com/p/1234567890",
        "<https://meeting.tencent.com/p/1234567890>",
        "<https://meeting.tencent.com/p/1234567890|https://meeting.tencent.com/p/1234567890>",
        "meeting.tencent.com/p/1234567890",
        "see https://meeting.tencent.com/p/1234567890?from=share please",
    ],
)
def test_a_personal_room_link_gives_its_code(text: str) -> None:
    assert parse_command(text) == Lookup((code("1234567890"),))


def test_a_code_in_a_meeting_code_parameter_counts() -> None:
    assert parse_command("wemeet://page/inmeeting?meeting_code=295150176") == Lookup(
        (code("295150176"),)
    )


@pytest.mark.parametrize(
    "text",
    [
        "https://meeting.tencent.com/dm/AbCdEfGhIjKl",
        "<https://meeting.tencent.com/dm/AbCdEfGhIjKl>",
        "join here: <https://meeting.tencent.com/dm/AbCdEfGhIjKl|https://meeting.tencent.com/dm/AbCdEfGhIjKl>",
    ],
)
def test_a_join_link_alone_is_explained(text: str) -> None:
    assert parse_command(text) == Invalid(Problem.JOIN_LINK_ONLY)
    assert find_meeting_refs(text) == ()


def test_a_join_link_next_to_a_code_does_not_hide_the_code() -> None:
    text = "295150176 https://meeting.tencent.com/dm/AbCdEfGhIjKl https://meeting.tencent.com/dm/Zz"
    assert parse_command(text) == Lookup((code("295150176"),))


def test_a_live_page_link_alone_is_explained() -> None:
    assert parse_command("https://meeting.tencent.com/l/AbCdEfGhIjKl") == Invalid(
        Problem.LIVE_LINK_ONLY
    )


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com/issues/1234567890",
        "<https://example.com/a/295150176|the notes>",
        "<@U1234567890>",
        "<#C1234567890|general>",
        "<!subteam^S1234567890|team>",
    ],
)
def test_digits_inside_other_links_and_mentions_are_not_codes(text: str) -> None:
    assert find_meeting_refs(text) == ()


def test_a_link_between_two_short_numbers_does_not_join_them() -> None:
    assert find_meeting_refs("295 150 https://example.com 176") == ()


# ---------------------------------------------------------------------------------------------
# the other commands


@pytest.mark.parametrize("text", ["help", "HELP", "Help me", "帮助", "?"])
def test_help(text: str) -> None:
    assert parse_command(text) == Help()


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", Recent(7)),
        ("   ", Recent(7)),
        ("\n", Recent(7)),
        ("recent", Recent(7)),
        ("RECENT 30", Recent(30)),
        ("recent 1", Recent(1)),
        ("recent 90", Recent(90)),
        ("recent 14d", Recent(14)),
        ("最近", Recent(7)),
        ("最近30天", Recent(30)),
        ("最近 ３０", Recent(30)),
    ],
)
def test_recent(text: str, command: Recent) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize("text", ["recent 0", "recent 91", "recent week", "recent 7 8", "最近-3"])
def test_recent_days_out_of_range_are_refused(text: str) -> None:
    command = parse_command(text)
    assert isinstance(command, Invalid)
    assert command.problem is Problem.BAD_DAYS


@pytest.mark.parametrize(
    ("text", "visibility"),
    [
        ("visibility me", Visibility.ME),
        ("visibility workspace", Visibility.WORKSPACE),
        ("Visibility WORKSPACE", Visibility.WORKSPACE),
        ("可见 me", Visibility.ME),
        ("可见工作区", Visibility.WORKSPACE),
    ],
)
def test_visibility(text: str, visibility: Visibility) -> None:
    assert parse_command(text) == SetVisibility(visibility)


@pytest.mark.parametrize("text", ["visibility", "visibility team", "visibility me workspace"])
def test_bad_visibility_is_refused(text: str) -> None:
    command = parse_command(text)
    assert isinstance(command, Invalid)
    assert command.problem is Problem.BAD_VISIBILITY


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("link zhangsan", LinkCommand("zhangsan")),
        ("LINK zhang.san-01_~", LinkCommand("zhang.san-01_~")),
        ("link 'zhangsan'", LinkCommand("zhangsan")),
        ("绑定 zhangsan", LinkCommand("zhangsan")),
        ("绑定zhangsan", LinkCommand("zhangsan")),
        ("link <@U123ABC|bob> zhangsan", LinkCommand("zhangsan", target="U123ABC")),
        ("link <@U123ABC> zhangsan", LinkCommand("zhangsan", target="U123ABC")),
        ("link <@W0AB12> zhangsan", LinkCommand("zhangsan", target="W0AB12")),
        ("link zhangsan <@U123ABC|bob>", LinkCommand("zhangsan", target="U123ABC")),
        ("unlink", Unlink()),
        ("解绑", Unlink()),
        ("unlink <@U123ABC|bob>", Unlink("U123ABC")),
        ("whoami", WhoAmI()),
        ("WhoAmI", WhoAmI()),
        ("我是谁", WhoAmI()),
        ("status", Status()),
        ("STATUS", Status()),
        ("状态", Status()),
        ("subscribe", Subscribe()),
        ("subscribe 295 150 176", Subscribe("295150176")),
        ("subscribe #腾讯会议：295-150-176", Subscribe("295150176")),
        ("订阅295150176", Subscribe("295150176")),
        ("unsubscribe", Unsubscribe()),
        ("unsubscribe 295-150-176", Unsubscribe("295150176")),
        ("取消订阅 295150176", Unsubscribe("295150176")),
        ("subscribe match Weekly  Sync", Subscribe(match="Weekly Sync")),
        ("subscribe MATCH standup", Subscribe(match="standup")),
        ("订阅 匹配 周会", Subscribe(match="周会")),
        ("订阅匹配周会", Subscribe(match="周会")),
        ("unsubscribe match weekly sync", Unsubscribe(match="weekly sync")),
        ("取消订阅 匹配 周会", Unsubscribe(match="周会")),
        # a subject word that looks like a code is still a word
        ("subscribe match 295150176", Subscribe(match="295150176")),
        ("subscriptions", Subscriptions()),
        ("订阅列表", Subscriptions()),
        ("dm off", DmDigests(enabled=False)),
        ("dm on", DmDigests(enabled=True)),
        ("DM OFF", DmDigests(enabled=False)),
        ("私信 关", DmDigests(enabled=False)),
        ("私信开", DmDigests(enabled=True)),
        ("refresh 295150176", Refresh((code("295150176"),))),
        ("刷新 295 150 176", Refresh((code("295150176"),))),
        (
            "refresh 295150176 7567173273889276131",
            Refresh((code("295150176"), mid("7567173273889276131"))),
        ),
    ],
)
def test_commands(text: str, command: object) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize(
    ("text", "invalid"),
    [
        ("link", Invalid(Problem.MISSING_USERID)),
        ("link <@U123ABC|bob>", Invalid(Problem.MISSING_USERID)),
        ("link bad/id", Invalid(Problem.BAD_USERID, "bad/id")),
        ("link 张三", Invalid(Problem.BAD_USERID, "张三")),
        ("link <mailto:a@b.com|a@b.com>", Invalid(Problem.BAD_USERID, "<mailto:a@b.com|a@b.com>")),
        ("link zhang san", Invalid(Problem.BAD_USERID, "zhang san")),
        ("link " + "a" * 129, Invalid(Problem.BAD_USERID, "a" * 79 + "…")),
        ("link @bob zhangsan", Invalid(Problem.BAD_MENTION, "@bob")),
        ("link <#C123|general> zhangsan", Invalid(Problem.BAD_MENTION, "<#C123|general>")),
        ("link <@U1> <@U2>", Invalid(Problem.BAD_MENTION, "<@U2>")),
        ("link <@U1> a b", Invalid(Problem.EXTRA_ARGUMENTS, "b")),
        ("unlink bob", Invalid(Problem.BAD_MENTION, "bob")),
        ("unlink <@U1> <@U2>", Invalid(Problem.EXTRA_ARGUMENTS, "<@U2>")),
        ("whoami please", Invalid(Problem.EXTRA_ARGUMENTS, "please")),
        ("status now", Invalid(Problem.EXTRA_ARGUMENTS, "now")),
        ("subscribe 12345", Invalid(Problem.BAD_CODE, "12345")),
        ("subscribe 7567173273889276131", Invalid(Problem.BAD_CODE, "7567173273889276131")),
        ("subscribe 295150176 806146667", Invalid(Problem.BAD_CODE, "295150176 806146667")),
        ("subscribe match", Invalid(Problem.MISSING_MATCH_WORDS)),
        ("subscribe match   ", Invalid(Problem.MISSING_MATCH_WORDS)),
        ("订阅 匹配", Invalid(Problem.MISSING_MATCH_WORDS)),
        ("unsubscribe match", Invalid(Problem.MISSING_MATCH_WORDS)),
        ("subscribe matches", Invalid(Problem.BAD_CODE, "matches")),
        ("dm", Invalid(Problem.BAD_DM_SETTING)),
        ("dm maybe", Invalid(Problem.BAD_DM_SETTING, "maybe")),
        ("refresh", Invalid(Problem.MISSING_CODE)),
        ("12345", Invalid(Problem.BAD_CODE, "12345")),
        ("hello", Invalid(Problem.UNKNOWN_COMMAND, "hello")),
        ("what are my replays", Invalid(Problem.NO_MEETING_FOUND)),
    ],
)
def test_what_is_refused_and_why(text: str, invalid: Invalid) -> None:
    assert parse_command(text) == invalid


# ---------------------------------------------------------------------------------------------
# properties

_VALID_LENGTHS = {"code": range(9, 13), "id": range(19, 21)}


def _assert_valid_refs(refs: tuple[MeetingRef, ...]) -> None:
    assert len(set(refs)) == len(refs)
    for ref in refs:
        assert re.fullmatch(r"[0-9]+", ref.value), ref
        assert len(ref.value) in _VALID_LENGTHS[ref.kind], ref


def _refs_of(command: object) -> tuple[MeetingRef, ...]:
    return getattr(command, "refs", ())


_TOKENS = st.sampled_from(
    [
        "link",
        "unlink",
        "help",
        "subscribe",
        "dm",
        "on",
        "off",
        "refresh",
        "whoami",
        "订阅",
        "帮助",
        "#腾讯会议：",
        "#Tencent Meeting:",
        "会议号",
        "Meeting ID",
        "<@U123|bob>",
        "<@W9>",
        "<#C1|x>",
        "<!channel>",
        "https://meeting.tencent.com/p/",
        "https://meeting.tencent.com/dm/AbCd",
        "https://meeting.tencent.com/l/Xy",
        "meeting_code=",
        "<https://example.com|",
        ">",
        "|",
        "<",
        "&amp;",
        "\u00a0",
        "\u3000",
        "：",
        "－",
        "’",
        "'",
        "-",
        " ",
        "\n",
        "+86",
        "/",
        ".",
        ",",
        "会议",
        "时间",
        "２",
        "９",
    ]
)
_MIXED = st.lists(
    st.one_of(_TOKENS, st.text("0123456789", min_size=1, max_size=21), st.text(max_size=5)),
    max_size=30,
).map("".join)


@given(st.text())
@settings(max_examples=300)
def test_any_text_parses_to_a_command(text: str) -> None:
    command = parse_command(text)
    assert isinstance(command, COMMAND_TYPES)
    _assert_valid_refs(_refs_of(command))
    _assert_valid_refs(find_meeting_refs(text))


@given(_MIXED)
@settings(max_examples=500)
def test_any_mix_of_digits_keywords_mentions_and_links_parses(text: str) -> None:
    command = parse_command(text)
    assert isinstance(command, COMMAND_TYPES)
    _assert_valid_refs(_refs_of(command))
    if isinstance(command, Lookup):
        assert 0 < len(command.refs) <= MAX_REFS
    if isinstance(command, LinkCommand):
        assert re.fullmatch(r"[A-Za-z0-9._~-]+", command.userid)
    _assert_valid_refs(find_meeting_refs(text))


@st.composite
def _grouped(draw: st.DrawFn) -> tuple[str, str]:
    """A code or ID, and the way someone might write it: short groups and one kind of separator."""
    digits = draw(st.sampled_from([9, 10, 11, 12, 19, 20]))
    value = draw(st.text("0123456789", min_size=digits, max_size=digits))
    separator = draw(st.sampled_from([" ", "-", "'", "\u00a0", "\u2019", "－", "  "]))
    cuts = sorted(draw(st.sets(st.integers(1, digits - 1), max_size=digits - 1)))
    groups = [value[a:b] for a, b in zip([0, *cuts], [*cuts, digits], strict=True)]
    if len(groups) > 1 and max(map(len, groups)) >= 9:
        groups = [value]  # a group of 9+ digits stands alone by design: write it whole
    written = separator.join(groups)
    if draw(st.booleans()):
        written = written.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return value, written


def _ref(value: str) -> MeetingRef:
    return MeetingRef("code" if len(value) <= 12 else "id", value)


_PREFIXES = st.sampled_from(
    ["", "#腾讯会议：", "#腾讯会议:", "#Tencent Meeting: ", "会议号 ", "code "]
)


@given(_grouped(), _PREFIXES)
def test_a_reference_written_in_groups_is_found_whole(case: tuple[str, str], prefix: str) -> None:
    value, written = case
    assert parse_command(prefix + written) == Lookup((_ref(value),))


_NOISE = st.text("0123456789 :/-.()+,年月日时间北京", max_size=60)
_LABELS = st.sampled_from(["#腾讯会议：", "#Tencent Meeting: ", "会议号：", "Meeting ID: "])


@given(_grouped(), _LABELS, st.lists(_NOISE, max_size=6), st.integers(0, 6))
def test_a_labelled_code_wins_over_noise_on_other_lines(
    case: tuple[str, str], label: str, noise: list[str], where: int
) -> None:
    value, written = case
    lines = [*noise]
    lines.insert(min(where, len(lines)), label + written)
    assert find_meeting_refs("\n".join(lines)) == (_ref(value),)


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=24), st.sampled_from(["", " ", "　", "\n"])
)
def test_a_bare_number_reads_as_the_full_reading_reads_it(digits: str, padding: str) -> None:
    # parse_command answers a bare code or ID without its scans: the same answer as _parse_refs.
    text = padding + digits + padding
    assert parse_command(text) == _parse_refs(normalize(text).strip(), refresh=False)
