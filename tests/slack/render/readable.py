"""Checks that a message reads as meant, for people and for screen readers, shared by the render
tests: Chinese bold and code that Slack renders, a fallback `text` that names what the message
is about, and buttons that say what they open.

Slack only takes `*bold*` and `` `code` `` as formatting when each marker has a boundary on its
outer side (line start or end, a space, a zero-width space or ASCII punctuation) and the text
inside does not start or end with a space. A CJK character or full-width punctuation (`：`, `。`,
`（`) is not a boundary, so `会议*周会*的` or `` 密码：`x` `` show the asterisks and backticks
literally.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from typing import Any

from tests.fakes.block_kit import iter_text_objects

ZERO_WIDTH_SPACE = "\u200b"
_BOUNDARIES = frozenset(string.whitespace + string.punctuation + ZERO_WIDTH_SPACE)
# Slack's `<…>` tokens (mentions, channels, dates, links) stand as one unit in a line.
_TOKEN = re.compile(r"<[^<>\n]*>")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _outer_ok(char: str | None) -> bool:
    return char is None or char in _BOUNDARIES


def _pairs(line: str, marker: str) -> tuple[list[tuple[int, int]], int | None]:
    """The marker's pairs in `line` (open, close), and the position of one left unpaired."""
    spots = [i for i, char in enumerate(line) if char == marker]
    pairs = list(zip(spots[::2], spots[1::2], strict=False))
    return pairs, (spots[-1] if len(spots) % 2 else None)


def _line_problems(line: str) -> list[str]:
    problems: list[str] = []
    line = _TOKEN.sub("x", line)
    for marker in ("`", "*"):
        pairs, lone = _pairs(line, marker)
        if lone is not None:
            problems.append(f"a lone {marker} in {line!r}")
        for start, end in pairs:
            before = line[start - 1] if start else None
            after = line[end + 1] if end + 1 < len(line) else None
            inner = line[start + 1 : end]
            if not _outer_ok(before) or not _outer_ok(after) or inner != inner.strip():
                problems.append(f"{line[max(start - 3, 0) : end + 4]!r} in {line!r}")
        if marker == "`":
            # Nothing inside code is formatting: blank the spans before looking for bold.
            for start, end in pairs:
                line = line[:start] + "x" * (end - start + 1) + line[end + 1 :]
    return problems


def marker_problems(text: str) -> list[str]:
    """Where `text` (mrkdwn) has a bold or code marker Slack would show literally."""
    return [problem for line in text.split("\n") for problem in _line_problems(line)]


def template_problems(template: str) -> list[str]:
    """`marker_problems` of an i18n template, its placeholders standing for a word."""
    return marker_problems(_PLACEHOLDER.sub("x", template))


def message_mrkdwn(message: dict[str, Any]) -> list[str]:
    """Every mrkdwn text of a message or view (a view has no fallback `text`)."""
    texts = [obj["text"] for obj in iter_text_objects(message) if obj["type"] == "mrkdwn"]
    return [message["text"], *texts] if "text" in message else texts


def assert_renders(messages: Iterable[dict[str, Any]]) -> None:
    """Every bold and code marker of the messages (or views) renders."""
    problems = [
        p for message in messages for text in message_mrkdwn(message) for p in marker_problems(text)
    ]
    assert not problems, "\n".join(problems)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button of a message or view (section accessories and actions elements)."""
    found: list[dict[str, Any]] = []
    for block in message.get("blocks", []):
        elements = [block.get("accessory")] if block.get("accessory") else []
        elements += block.get("elements", []) if block.get("type") == "actions" else []
        found += [e for e in elements if isinstance(e, dict) and e.get("type") == "button"]
    return found


_NUMBERED_TWICE = re.compile(r"^(\d+)\. \D*\b\1$")


def assert_accessible(message: dict[str, Any], *, names: Iterable[str] = ()) -> None:
    """Every button says what it opens to a screen reader (Slack reads `accessibility_label`
    instead of the label; 75 characters at most), no button is numbered twice ("2. Live replay
    2"), and the fallback `text`, which notifications and screen readers read, names each of
    `names` (the meeting, its replays and recordings)."""
    for button in buttons(message):
        spoken = button.get("accessibility_label")
        assert isinstance(spoken, str) and spoken.strip(), f"no accessibility_label: {button}"
        assert len(spoken) <= 75, spoken
        assert not _NUMBERED_TWICE.match(button["text"]["text"]), button["text"]["text"]
    for name in names:
        assert name in message["text"], f"{name!r} not named in {message['text']!r}"
