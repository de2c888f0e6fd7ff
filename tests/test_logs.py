"""The log handler's secret filter: the second line of defence when a library logs a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.core import correlation
from bot.logs import REDACTED, configure_logging

SECRET = "xoxb-a-secret-bot-token"
SHORT = "abc"  # too short to blank without mangling ordinary words


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """The root handler as `python -m bot` sets it up, writing here; pytest's put back after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("DEBUG", [SECRET, SHORT], stream)
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_secrets_in_messages_arguments_tracebacks_and_stacks_are_blanked(
    output: io.StringIO,
) -> None:
    log = logging.getLogger("some.library")
    log.debug("headers: %s", {"Authorization": f"Bearer {SECRET}"})
    log.info(f"token={SECRET}")
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        log.exception("call failed")
    log.warning("where: %s", SECRET, stack_info=True)
    log.info("label abc stays")
    text = output.getvalue()
    assert SECRET not in text
    assert text.count(REDACTED) == 4  # argument, message, traceback, warning
    assert "label abc stays" in text  # short values are left alone


def test_a_debug_level_line_without_secrets_is_untouched(output: io.StringIO) -> None:
    logging.getLogger("bot").debug("looked up %s for %s", "13418515243", "U1")
    assert "DEBUG bot: looked up 13418515243 for U1" in output.getvalue()


@pytest.fixture
def json_output() -> Iterator[io.StringIO]:
    """The root handler as `python -m bot` sets it up with LOG_FORMAT=json, writing here."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("DEBUG", [SECRET, SHORT], stream, json_lines=True)
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def lines_of(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_correlation_fields_of_the_work_under_way(
    json_output: io.StringIO,
) -> None:
    log = logging.getLogger("bot.core.lookup")
    log.info("outside any request")
    with correlation.scope(team="T1", request_kind="command", request_id="1.2"):
        with correlation.scope(meeting="13418515243"):
            log.info("looked up %s", "13418515243")
        log.warning("after the look-up")
    first, inside, after = lines_of(json_output)
    assert set(first) == {"time", "level", "logger", "message"}
    assert inside == {
        "time": inside["time"],
        "level": "INFO",
        "logger": "bot.core.lookup",
        "message": "looked up 13418515243",
        "team": "T1",
        "request_kind": "command",
        "request_id": "1.2",
        "meeting": "13418515243",
    }
    assert "meeting" not in after and after["team"] == "T1"
    assert inside["time"].endswith("+00:00")


def test_json_lines_keep_secrets_out_of_messages_tracebacks_and_fields(
    json_output: io.StringIO,
) -> None:
    log = logging.getLogger("some.library")
    log.debug("headers: %s", {"Authorization": f"Bearer {SECRET}"})
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        log.exception("call failed")
    with correlation.scope(request_id=f"id-{SECRET}"):
        log.info("a field that should never hold one, but does")
    text = json_output.getvalue()
    assert SECRET not in text
    headers, failure, field = lines_of(json_output)
    assert REDACTED in headers["message"]
    assert REDACTED in failure["exception"] and "RuntimeError" in failure["exception"]
    assert field["request_id"] == f"id-{REDACTED}"


def test_chinese_text_stays_readable_in_json(json_output: io.StringIO) -> None:
    logging.getLogger("bot").info("会议 %s", "周会")
    (line,) = json_output.getvalue().splitlines()
    assert "会议 周会" in line
