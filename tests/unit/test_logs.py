"""The log handler's secret filter: the second line of defence when a library logs a secret."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

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
