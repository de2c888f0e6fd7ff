"""Text for Slack's mrkdwn: escaping, cutting to a limit, one-lining and splitting, fallback text.

Text from Tencent or from people is escaped (`&`, `<`, `>`) wherever it lands in mrkdwn, including
the fallback `text`, so that a subject such as `<!channel>` cannot mention anyone or forge a link.
Lengths are counted in UTF-16 code units, which is never less than the characters Slack counts,
so a text cut here fits Slack's limits whatever it contains.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.slack.render.limits import MAX_FALLBACK_TEXT, MAX_URL

SLACK_USER = re.compile(r"[UW][A-Z0-9]{1,32}")
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)


def escape_mrkdwn(text: str) -> str:
    """`text` made inert in mrkdwn: no mention, channel link, URL or entity can come out of it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def units(text: str) -> int:
    """The length of `text` in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int, *, escape: bool) -> str:
    """`text`, escaped for mrkdwn when `escape`, within `limit` UTF-16 units (an ellipsis if cut).

    Cutting before escaping would not bound the result (an `&` grows fivefold) and cutting after
    could split an entity, so the two go together, character by character.
    """
    rendered = escape_mrkdwn(text) if escape else text
    if units(rendered) <= limit:
        return rendered
    pieces: list[str] = []
    used = 0
    for char in text:
        piece = escape_mrkdwn(char) if escape else char
        used += units(piece)
        if used > limit - 1:
            break
        pieces.append(piece)
    return "".join(pieces) + "…"


# Control characters and line/paragraph/space separators; format characters such as the zero-width
# joiner stay, since emoji sequences need them.
_BREAKS = frozenset({"Cc", "Zl", "Zp", "Zs"})


def one_line(text: str) -> str:
    """`text` with control characters and runs of whitespace folded into single spaces."""
    if text.isprintable():
        # No control character and no separator but the plain space (the usual case): only
        # runs of spaces to fold, without a look at every character.
        return " ".join(text.split())
    spaced = "".join(" " if unicodedata.category(c) in _BREAKS else c for c in text)
    return " ".join(spaced.split())


def split_mrkdwn(text: str, limit: int) -> list[str]:
    """`text` in chunks within `limit`, cut at line breaks or spaces, never in `<…>` or `&…;`."""
    chunks: list[str] = []
    rest = text
    while units(rest) > limit:
        fits = 0
        used = 0
        for char in rest:
            used += units(char)
            if used > limit:
                break
            fits += 1
        head = rest[:fits]
        # Prefer a line break, then a space, in the second half of what fits.
        at = max(head.rfind("\n"), head.rfind(" ") if head.rfind("\n") < fits // 2 else -1)
        if at < fits // 2:
            at = fits
        opened = head.rfind("<", 0, at)
        if opened > 0 and opened > head.rfind(">", 0, at):
            at = opened
        amp = head.rfind("&", 0, at)
        if amp > 0 and amp > at - 8 and ";" not in head[amp:at]:
            at = amp
        chunks.append(rest[:at])
        rest = rest[at:]
    chunks.append(rest)
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()]


def fallback_text(lines: Sequence[str], prefix: str = "") -> str:
    """Slack's notification text: whole lines while they fit, then an ellipsis."""
    text = prefix
    for line in lines:
        candidate = f"{text}\n{line}" if text else line
        if units(candidate) > MAX_FALLBACK_TEXT - 1:
            return (text + "\n…") if text else cut(line, MAX_FALLBACK_TEXT, escape=False)
        text = candidate
    return text or "…"


def is_linkable_url(url: str) -> bool:
    """Whether Slack takes `url` as a button URL: http(s), a host, URL characters only, ≤ 3000."""
    if len(url) > MAX_URL or not _URL.fullmatch(url):
        return False
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False


def mention(user: str) -> str:
    """`user` as a mention when it is a Slack user ID, else as escaped text."""
    return f"<@{user}>" if SLACK_USER.fullmatch(user) else escape_mrkdwn(user)


def slack_date(moment: datetime) -> str:
    """`moment` as Slack's date token: each reader sees it in their own time zone; clients that
    cannot render it show the UTC fallback."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
