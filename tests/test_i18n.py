"""Both languages say the same things, with the same placeholders, in valid Slack mrkdwn."""

from __future__ import annotations

import re
import string

import pytest

from bot.core.outcomes import LookupProblem
from bot.core.parsing import Problem
from bot.i18n import LOCALES, MESSAGES, format_duration, locale_from_slack, t


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_every_key_exists_in_both_languages() -> None:
    for key, by_locale in MESSAGES.items():
        assert set(by_locale) == set(LOCALES), key
        for locale in LOCALES:
            assert by_locale[locale].strip(), (key, locale)


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_both_languages_have_the_same_placeholders(key: str) -> None:
    assert _placeholders(MESSAGES[key]["en"]) == _placeholders(MESSAGES[key]["zh"])


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_formats_and_is_safe_mrkdwn(key: str) -> None:
    for locale in LOCALES:
        params = {name: "X" for name in _placeholders(MESSAGES[key][locale])}
        text = t(key, locale, **params)
        # Our own text must not open Slack markup: literal angle brackets are written as entities.
        assert "<" not in text and ">" not in text, (key, locale)
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), (key, locale)


def test_every_problem_has_a_message() -> None:
    for lookup_problem in LookupProblem:
        assert f"lookup_{lookup_problem}" in MESSAGES
    for problem in Problem:
        assert f"invalid_{problem}" in MESSAGES


def test_unknown_keys_and_missing_placeholders_fail_loudly() -> None:
    with pytest.raises(KeyError):
        t("no_such_message", "en")
    with pytest.raises(KeyError):
        t("link_done_self", "en")  # needs {userid}


def test_extra_parameters_are_ignored() -> None:
    assert t("no_results", "en", detail="x") == "Nothing to show."


def test_the_messages_say_what_to_do() -> None:
    assert "/replays link" in t("lookup_not_linked", "en")
    assert "30 days" in t("lookup_not_found", "en", ref="meeting 295150176")
    assert "19-20" in t("lookup_not_found", "en", ref="meeting 295150176")
    assert "creator" in t("lookup_not_creator", "en", ref="meeting 295150176")
    assert "try again" in t("lookup_busy", "en", ref="meeting 295150176").lower()
    assert "admin" in t("lookup_misconfigured", "en", ref="meeting 295150176")
    assert t("ack_lookup_many", "en", count=2) == "Looking up replays for 2 meetings…"
    assert t("ack_lookup_many", "zh", count=2) == "正在查询 2 个会议的直播回看…"
    assert "{status}" not in t("help", "en", status="You are linked.")
    assert "You are linked." in t("help", "zh", status="You are linked.")


@pytest.mark.parametrize(
    ("slack_locale", "locale"),
    [
        ("zh-CN", "zh"),
        ("zh-TW", "zh"),
        ("zh", "zh"),
        ("ZH_cn", "zh"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("ja-JP", "en"),
        ("", "en"),
        (None, "en"),
        ("zhx", "en"),
    ],
)
def test_locale_from_slack(slack_locale: str | None, locale: str) -> None:
    assert locale_from_slack(slack_locale) == locale


@pytest.mark.parametrize(
    ("seconds", "en", "zh"),
    [
        (21600, "6 h", "6 小时"),
        (5400, "1 h 30 min", "1 小时 30 分钟"),
        (120, "2 min", "2 分钟"),
        (0, "1 min", "1 分钟"),
    ],
)
def test_format_duration(seconds: int, en: str, zh: str) -> None:
    assert format_duration(seconds, "en") == en
    assert format_duration(seconds, "zh") == zh
