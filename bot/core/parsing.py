"""Parse what people type after `/replays` (or after mentioning the bot) into a typed command.

Pure: no I/O, never raises on any input. `parse_command` reads the `/replays` commands (the README's grammar);
`find_meeting_refs` only finds meetings, for @-mentions and for a thread's parent message.

Finding meetings in free text
-----------------------------
The text is first normalised: NFKC (full-width digits, colons and spaces become ASCII), zero-width
characters dropped, every dash and apostrophe variant mapped to `-` and `'`.

1. Links and Slack markup (`<https://…|label>`, bare URLs, `<@U…>`, `<#C…>`, `<!here>`) are cut out
   first, so digits inside them never become codes. From links on Tencent Meeting hosts:
   `/p/<digits>` is a personal room whose digits are its code, a `meeting_code=<digits>` query
   parameter is a code, `/dm/<chars>` join links are counted (they do not contain the code) and
   `/l/<chars>` live/replay pages are noted (no code either).
2. Labelled numbers: `#腾讯会议：`, `#Tencent Meeting:`, `#VooV Meeting:`, `会议号：`,
   `会议 ID：`, `Meeting ID:`, `Meeting code:` followed by a number on the same line. When at
   least one label yields a meeting, **only** labelled numbers (and `/p/` links) are used: a pasted
   invitation's times, dates and dial-in numbers are never read as codes.
3. Otherwise every run of digit groups is read. A run is digit groups separated by at most three
   spaces, dashes or apostrophes, not glued to ASCII letters and not part of a decimal, a date
   (`2024/03/12`) or a phone number (`+86…`). Within a run:
   - a group that is already 9 or more digits stands alone (9-12: a code, 19-20: an ID, any other
     length: ignored);
   - each stretch of shorter groups is partitioned into consecutive pieces whose digit counts are
     valid (9-12 or 19-20), groups that fit nowhere being skipped. Among all partitions the one
     chosen skips the fewest digits, then mixes separator kinds inside a piece the fewest times (so
     `295-150-176 806-146-667` is two codes: the space after a dash-formatted code is a boundary),
     then has the fewest pieces (so `134 185 152 43` is one 11-digit code, while
     `295 150 176 806 146 667`, 18 digits, is two 9-digit codes).

The kind of a reference follows from its length only: 9-12 digits is a meeting code, 19-20 a
meeting ID (kept as a string: it can exceed int64). References are deduplicated, first occurrence
kept, in the order they appear. `parse_command` refuses more than `MAX_REFS` of them with
`Problem.TOO_MANY` rather than silently looking up only some: the user sees the limit and can split
the request.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from bot.core.meetings import MeetingRef
from bot.core.records import Visibility

#: the most meetings one command looks up (each costs Tencent calls and a card)
MAX_REFS = 10

CODE_LENGTHS = range(9, 13)
ID_LENGTHS = range(19, 21)

# Tencent userids are free-form for Tencent, but this app sends them in query strings and signs
# them, so it only accepts the characters that need no escaping.
_USERID = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_MENTION = re.compile(r"<@([UW][A-Z0-9]{1,32})(?:\|[^<>]*)?>")


class Problem(StrEnum):
    """Why a command could not be understood; the value names its message (`invalid_<value>`)."""

    NO_MEETING_FOUND = "no_meeting_found"
    JOIN_LINK_ONLY = "join_link_only"
    LIVE_LINK_ONLY = "live_link_only"
    BAD_USERID = "bad_userid"
    MISSING_USERID = "missing_userid"
    BAD_MENTION = "bad_mention"
    BAD_CODE = "bad_code"
    MISSING_CODE = "missing_code"
    TOO_MANY = "too_many"
    EXTRA_ARGUMENTS = "extra_arguments"
    BAD_DM_SETTING = "bad_dm_setting"
    BAD_DAYS = "bad_days"
    BAD_VISIBILITY = "bad_visibility"
    #: `subscribe match` (or `unsubscribe match`) without the words to match
    MISSING_MATCH_WORDS = "missing_match_words"
    UNKNOWN_COMMAND = "unknown_command"


@dataclass(frozen=True, slots=True)
class Lookup:
    """Look up the replays of these meetings."""

    refs: tuple[MeetingRef, ...]


@dataclass(frozen=True, slots=True)
class Refresh:
    """Like `Lookup`, but past the cache: look again at Tencent now."""

    refs: tuple[MeetingRef, ...]


@dataclass(frozen=True, slots=True)
class Help:
    """Show usage and the caller's link status."""


@dataclass(frozen=True, slots=True)
class LinkCommand:
    """Link a Slack user to a Tencent userid: the caller (`target` None) or, by admins, `target`."""

    userid: str
    target: str | None = None


@dataclass(frozen=True, slots=True)
class Unlink:
    """Remove the link of the caller (`target` None) or, for admins, of `target`."""

    target: str | None = None


@dataclass(frozen=True, slots=True)
class WhoAmI:
    """Show the caller's link."""


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Post digests in this channel: of the caller's meetings (`code` None) or of one code; with
    `match`, only of the caller's meetings whose subject contains those words."""

    code: str | None = None
    match: str | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """Stop what the matching `Subscribe` started."""

    code: str | None = None
    match: str | None = None


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """List the digest subscriptions of this channel."""


@dataclass(frozen=True, slots=True)
class DmDigests:
    """Turn the digest DMs about the caller's own meetings on or off."""

    enabled: bool


@dataclass(frozen=True, slots=True)
class Status:
    """Admins: how the app is doing (instances, digest queue, Tencent budget, webhook, reachability)."""


@dataclass(frozen=True, slots=True)
class Recent:
    """The caller's own meetings that ended in the last `days` days and have replays (the empty
    command, or `recent [days]`)."""

    days: int = 7


@dataclass(frozen=True, slots=True)
class SetVisibility:
    """Who may look up the replays of the caller's meetings: only them, or the workspace."""

    visibility: Visibility


@dataclass(frozen=True, slots=True)
class Invalid:
    """Text that could not be understood; `detail` is the offending part, for the message."""

    problem: Problem
    detail: str = ""


Command = (
    Lookup
    | Refresh
    | Help
    | LinkCommand
    | Unlink
    | WhoAmI
    | Subscribe
    | Unsubscribe
    | Subscriptions
    | DmDigests
    | Status
    | Recent
    | SetVisibility
    | Invalid
)
COMMAND_TYPES: tuple[type, ...] = (
    Lookup,
    Refresh,
    Help,
    LinkCommand,
    Unlink,
    WhoAmI,
    Subscribe,
    Unsubscribe,
    Subscriptions,
    DmDigests,
    Status,
    Recent,
    SetVisibility,
    Invalid,
)

# ------------------------------------------------------------------------------------------------
# normalisation

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_DASH_CHARS = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_APOSTROPHE_CHARS = "\u2018\u2019\u201b\u2032\u02bc`"
_TRANSLATE = {
    **_ZERO_WIDTH,
    **{ord(c): "-" for c in _DASH_CHARS},
    **{ord(c): "'" for c in _APOSTROPHE_CHARS},
    ord("\t"): " ",
    ord("\r"): "\n",
}


def normalize(text: str) -> str:
    """Fold the ways people (and keyboards) write digits, spaces, colons, dashes, apostrophes."""
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE)


def ref_from_digits(digits: str) -> MeetingRef | None:
    """The reference that a bare string of ASCII digits is, by its length; None if neither."""
    if not digits.isascii() or not digits.isdigit():
        return None
    if len(digits) in CODE_LENGTHS:
        return MeetingRef("code", digits)
    if len(digits) in ID_LENGTHS:
        return MeetingRef("id", digits)
    return None


# ------------------------------------------------------------------------------------------------
# links and Slack markup

_ANGLE = re.compile(r"<([^<>|\n]*)(?:\|[^<>\n]*)?>")
# Bounded repetitions and look-behinds keep these linear on long hostile input ("a.a.a…", "1-1-1…").
_BARE_URL = re.compile(
    r"(?i)(?:(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,30}://|\bwww\.|(?<![a-z0-9.-])"
    r"(?:[a-z0-9-]{1,63}\.){0,4}(?:meeting\.tencent\.com|voovmeeting\.com|meeting\.qq\.com)/)"
    r"[^\s<>]*"
)
_TENCENT_HOST = re.compile(
    r"(?i)^(?:[a-z][a-z0-9+.-]{0,30}://)?(?:[a-z0-9-]{1,63}\.){0,4}"
    r"(?:meeting\.tencent\.com|voovmeeting\.com|meeting\.qq\.com)(?::\d+)?(?P<path>/[^?#]*)?"
)
_PERSONAL_ROOM = re.compile(r"^/p/(\d+)(?:/|$)")
_JOIN_LINK = re.compile(r"^/dm/([A-Za-z0-9_-]+)")
_LIVE_LINK = re.compile(r"^/l/([A-Za-z0-9_-]+)")
_CODE_PARAM = re.compile(r"(?i)[?&]meeting_?code=(\d+)")


@dataclass(frozen=True, slots=True)
class _Scan:
    refs: tuple[tuple[int, MeetingRef], ...]  # (position, ref) from links
    join_links: frozenset[str]
    live_links: frozenset[str]
    rest: str  # the text with links and markup replaced by line breaks


def _blank(match: re.Match[str]) -> str:
    # A line break (digits on either side never join up) padded to the same length (positions in the
    # text stay comparable, to keep references in the order they were written).
    return "\n" + " " * (len(match.group(0)) - 1)


def _scan_links(text: str) -> _Scan:
    refs: list[tuple[int, MeetingRef]] = []
    join_links: set[str] = set()
    live_links: set[str] = set()

    def read_url(url: str, position: int) -> None:
        code = _CODE_PARAM.search(url)
        if code and (ref := ref_from_digits(code.group(1))) is not None:
            refs.append((position, ref))
        host = _TENCENT_HOST.match(url)
        path = (host.group("path") or "") if host else ""
        if room := _PERSONAL_ROOM.match(path):
            if (ref := ref_from_digits(room.group(1))) is not None:
                refs.append((position, ref))
        elif join := _JOIN_LINK.match(path):
            join_links.add(join.group(1))
        elif live := _LIVE_LINK.match(path):
            live_links.add(live.group(1))

    def cut_angle(match: re.Match[str]) -> str:
        # Slack wraps links and mentions; an autolink's label repeats the URL, so it is ignored.
        target = match.group(1)
        if target[:1] not in "@#!":
            read_url(target, match.start())
        return _blank(match)

    def cut_bare(match: re.Match[str]) -> str:
        read_url(match.group(0), match.start())
        return _blank(match)

    rest = _ANGLE.sub(cut_angle, text)
    rest = _BARE_URL.sub(cut_bare, rest)
    return _Scan(tuple(refs), frozenset(join_links), frozenset(live_links), rest)


# ------------------------------------------------------------------------------------------------
# digit runs and their grouping

_SEP = r"[ '-]{1,3}"
_NUMBER = rf"\d+(?:{_SEP}\d+)*"
# Not glued to ASCII letters or digits, not after `+` (phones) or `.`, `,`, `/` (decimals, dates,
# paths), not followed by a decimal or date continuation.
_RUN = re.compile(rf"(?<![A-Za-z0-9_+./,])(?:{_NUMBER})(?![A-Za-z0-9_]|[.,/]\d)")
_LABEL = re.compile(
    rf"(?i)(?:#[ ]*(?:腾讯会议|tencent[ ]*meeting|voov[ ]*meeting)|腾讯会议|会议号码?|会议[ ]*id"
    rf"|meeting[ ]*(?:id|code|number|no\.?))[ ]*[:#]?[ ]*(?P<number>{_NUMBER})(?![A-Za-z0-9_])"
)
_GROUP = re.compile(r"(\d+)|([ '-]+)")


def _separator_kind(separator: str) -> str:
    if "-" in separator:
        return "-"
    if "'" in separator:
        return "'"
    return " "


def _partition(groups: list[str], kinds: list[str]) -> list[str]:
    """The best split of short digit groups into valid pieces (see the module docstring).

    `kinds[i]` is the separator kind between `groups[i]` and `groups[i + 1]`.
    """
    n = len(groups)
    # cost[i] = (skipped digits, mixed pieces, pieces) of the best reading of groups[:i];
    # start[i] = where the last piece of that reading starts, or None if groups[i - 1] is skipped.
    cost: list[tuple[int, int, int]] = [(0, 0, 0)]
    start: list[int | None] = [None]
    for end in range(1, n + 1):
        skipped, mixed, pieces = cost[end - 1]
        best, best_start = (skipped + len(groups[end - 1]), mixed, pieces), None
        total = 0
        separators: set[str] = set()  # kinds[first : end - 1], grown as the piece grows leftwards
        for first in range(end - 1, -1, -1):
            total += len(groups[first])
            if total > ID_LENGTHS.stop:
                break
            if first < end - 1:
                separators.add(kinds[first])
            if total in CODE_LENGTHS or total in ID_LENGTHS:
                skipped, mixed, pieces = cost[first]
                candidate = (skipped, mixed + int(len(separators) > 1), pieces + 1)
                if candidate < best:
                    best, best_start = candidate, first
        cost.append(best)
        start.append(best_start)
    found: list[str] = []
    end = n
    while end > 0:
        piece_start = start[end]
        if piece_start is None:
            end -= 1
        else:
            found.append("".join(groups[piece_start:end]))
            end = piece_start
    return found[::-1]


def _refs_in_number(number: str) -> list[MeetingRef]:
    """The references in one run of digit groups, e.g. `134 185 152 43`, `295-150-176 806146667`."""
    groups: list[str] = []
    kinds: list[str] = []
    for digits, separator in _GROUP.findall(number):
        if digits:
            groups.append(digits)
        elif groups:
            kinds.append(_separator_kind(separator))
    refs: list[MeetingRef] = []
    short: list[str] = []
    short_kinds: list[str] = []

    def flush() -> None:
        refs.extend(r for p in _partition(short, short_kinds) if (r := ref_from_digits(p)))
        short.clear()
        short_kinds.clear()

    for index, group in enumerate(groups):
        if len(group) >= CODE_LENGTHS.start:
            flush()
            if (ref := ref_from_digits(group)) is not None:
                refs.append(ref)
            continue
        if short:
            short_kinds.append(kinds[index - 1])
        short.append(group)
    flush()
    return refs


def _labelled_refs(text: str) -> list[tuple[int, MeetingRef]]:
    found: list[tuple[int, MeetingRef]] = []
    for match in _LABEL.finditer(text):
        found.extend((match.start(), ref) for ref in _refs_in_number(match.group("number")))
    return found


def _plain_refs(text: str) -> list[tuple[int, MeetingRef]]:
    found: list[tuple[int, MeetingRef]] = []
    for match in _RUN.finditer(text):
        found.extend((match.start(), ref) for ref in _refs_in_number(match.group(0)))
    return found


def _dedupe(found: list[tuple[int, MeetingRef]]) -> tuple[MeetingRef, ...]:
    ordered = sorted(found, key=lambda item: item[0])  # stable: order within one run is kept
    return tuple(dict.fromkeys(ref for _, ref in ordered))


def _find(normalized: str) -> tuple[tuple[MeetingRef, ...], _Scan]:
    scan = _scan_links(normalized)
    labelled = _labelled_refs(scan.rest)
    found = [*scan.refs, *(labelled or _plain_refs(scan.rest))]
    return _dedupe(found), scan


def find_meeting_refs(text: str) -> tuple[MeetingRef, ...]:
    """The meetings referred to in `text`, in order and deduplicated.

    Not capped: callers that act on the result cap it at `MAX_REFS`.
    """
    refs, _ = _find(normalize(text))
    return refs


# ------------------------------------------------------------------------------------------------
# commands

_KEYWORDS: dict[str, str] = {
    "help": "help",
    "h": "help",
    "?": "help",
    "usage": "help",
    "帮助": "help",
    "link": "link",
    "绑定": "link",
    "unlink": "unlink",
    "解绑": "unlink",
    "解除绑定": "unlink",
    "whoami": "whoami",
    "我是谁": "whoami",
    "subscribe": "subscribe",
    "sub": "subscribe",
    "订阅": "subscribe",
    "unsubscribe": "unsubscribe",
    "unsub": "unsubscribe",
    "取消订阅": "unsubscribe",
    "退订": "unsubscribe",
    "subscriptions": "subscriptions",
    "subs": "subscriptions",
    "订阅列表": "subscriptions",
    "我的订阅": "subscriptions",
    "dm": "dm",
    "私信": "dm",
    "refresh": "refresh",
    "刷新": "refresh",
    "status": "status",
    "状态": "status",
    "recent": "recent",
    "最近": "recent",
    "visibility": "visibility",
    "可见": "visibility",
}
# Chinese is often written without a space after the keyword (`订阅295150176`); longest first so
# that `订阅列表` is not read as `订阅` + `列表`.
_CJK_KEYWORDS = sorted((k for k in _KEYWORDS if not k.isascii()), key=len, reverse=True)
_DM_SETTINGS = {
    "on": True,
    "off": False,
    "enable": True,
    "disable": False,
    "yes": True,
    "no": False,
    "开": True,
    "开启": True,
    "打开": True,
    "关": False,
    "关闭": False,
}
_VISIBILITIES = {
    "me": Visibility.ME,
    "only-me": Visibility.ME,
    "我": Visibility.ME,
    "仅我": Visibility.ME,
    "workspace": Visibility.WORKSPACE,
    "everyone": Visibility.WORKSPACE,
    "all": Visibility.WORKSPACE,
    "工作区": Visibility.WORKSPACE,
    "所有人": Visibility.WORKSPACE,
}
MIN_DAYS, MAX_DAYS = 1, 90
_DAYS = re.compile(r"(\d{1,3})\s*(?:d|days?|天)?", re.IGNORECASE)
_DETAIL_LIMIT = 80


def _clip(text: str) -> str:
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def _split_keyword(text: str) -> tuple[str | None, str]:
    first = text.split(maxsplit=1)[0]
    keyword = _KEYWORDS.get(first.lower())
    if keyword is not None:
        return keyword, text[len(first) :].strip()
    for word in _CJK_KEYWORDS:
        if text.startswith(word):
            return _KEYWORDS[word], text[len(word) :].strip()
    return None, text


def _mention(token: str) -> str | None:
    match = _MENTION.fullmatch(token)
    return match.group(1) if match else None


def _looks_like_mention(token: str) -> bool:
    return token.startswith(("@", "<@", "<#", "<!"))


def _parse_link(args: list[str]) -> Command:
    if not args:
        return Invalid(Problem.MISSING_USERID)
    if len(args) > 2:
        return Invalid(Problem.EXTRA_ARGUMENTS, _clip(" ".join(args[2:])))
    target: str | None = None
    userid = args[0]
    if len(args) == 2:
        first, second = args
        # The documented order is `link @someone <userid>`; the reverse is unambiguous, so accepted.
        if (target := _mention(first)) is not None:
            userid = second
        elif (target := _mention(second)) is not None:
            userid = first
        elif _looks_like_mention(first):
            return Invalid(Problem.BAD_MENTION, _clip(first))
        else:
            return Invalid(Problem.BAD_USERID, _clip(" ".join(args)))
    elif _mention(userid) is not None:
        return Invalid(Problem.MISSING_USERID)
    if _looks_like_mention(userid):
        return Invalid(Problem.BAD_MENTION, _clip(userid))
    # People quote what they paste; quotes are never part of a userid.
    unquoted = userid.strip("'\"“”「」")
    if not _USERID.fullmatch(unquoted):
        return Invalid(Problem.BAD_USERID, _clip(userid))
    userid = unquoted
    return LinkCommand(userid=userid, target=target)


def _parse_unlink(args: list[str]) -> Command:
    if not args:
        return Unlink()
    if len(args) > 1:
        return Invalid(Problem.EXTRA_ARGUMENTS, _clip(" ".join(args[1:])))
    target = _mention(args[0])
    if target is None:
        return Invalid(Problem.BAD_MENTION, _clip(args[0]))
    return Unlink(target=target)


def _parse_code(rest: str) -> str | Invalid | None:
    """The one meeting code `subscribe`/`unsubscribe` may take: None if absent."""
    if not rest:
        return None
    refs = find_meeting_refs(rest)
    if len(refs) != 1 or refs[0].kind != "code":
        return Invalid(Problem.BAD_CODE, _clip(rest))
    return refs[0].value


def _parse_match(rest: str) -> str | Invalid | None:
    """The words of `subscribe match <words>` (spaces folded): None when `rest` is no filter."""
    first = rest.split(maxsplit=1)[0] if rest else ""
    if first.lower() == "match":
        words = rest[len(first) :]
    elif rest.startswith("匹配"):  # Chinese may run on without a space: `匹配周会`
        words = rest[len("匹配") :]
    else:
        return None
    words = " ".join(words.split())
    if not words:
        return Invalid(Problem.MISSING_MATCH_WORDS)
    return words


def _parse_subscription(keyword: str, rest: str) -> Command:
    match = _parse_match(rest)
    if isinstance(match, Invalid):
        return match
    if match is not None:
        return Subscribe(match=match) if keyword == "subscribe" else Unsubscribe(match=match)
    code = _parse_code(rest)
    if isinstance(code, Invalid):
        return code
    return Subscribe(code) if keyword == "subscribe" else Unsubscribe(code)


def _parse_dm(args: list[str]) -> Command:
    if len(args) != 1 or args[0].lower() not in _DM_SETTINGS:
        return Invalid(Problem.BAD_DM_SETTING, _clip(" ".join(args)))
    return DmDigests(enabled=_DM_SETTINGS[args[0].lower()])


def _parse_recent(rest: str) -> Command:
    if not rest:
        return Recent()
    match = _DAYS.fullmatch(rest)
    if match is None or not MIN_DAYS <= int(match.group(1)) <= MAX_DAYS:
        return Invalid(Problem.BAD_DAYS, _clip(rest))
    return Recent(int(match.group(1)))


def _parse_visibility(args: list[str]) -> Command:
    if len(args) != 1 or args[0].lower() not in _VISIBILITIES:
        return Invalid(Problem.BAD_VISIBILITY, _clip(" ".join(args)))
    return SetVisibility(_VISIBILITIES[args[0].lower()])


def _no_arguments(command: Command, args: list[str]) -> Command:
    return Invalid(Problem.EXTRA_ARGUMENTS, _clip(" ".join(args))) if args else command


def _parse_refs(text: str, *, refresh: bool) -> Command:
    refs, scan = _find(text)
    if len(refs) > MAX_REFS:
        return Invalid(Problem.TOO_MANY, str(len(refs)))
    if refs:
        return Refresh(refs) if refresh else Lookup(refs)
    if scan.join_links:
        return Invalid(Problem.JOIN_LINK_ONLY)
    if scan.live_links:
        return Invalid(Problem.LIVE_LINK_ONLY)
    if not text:
        return Invalid(Problem.MISSING_CODE)
    if re.fullmatch(r"[#\d '-]+", text) and any(c.isdigit() for c in text):
        return Invalid(Problem.BAD_CODE, _clip(text))
    if not refresh and re.fullmatch(r"[A-Za-z]+", text):
        return Invalid(Problem.UNKNOWN_COMMAND, _clip(text))
    return Invalid(Problem.NO_MEETING_FOUND)


def parse_command(text: str) -> Command:
    """The command in the text of `/replays …` or of a mention (the bot's own mention removed);
    nothing at all asks for the caller's recent meetings."""
    normalized = normalize(text).strip()
    if not normalized:
        return Recent()
    if normalized.isdigit() and normalized.isascii():
        # The usual command, a bare code or ID, answered as the full reading below would answer
        # it (a lone run of 9-12 or 19-20 digits is that one reference) without its scans.
        ref = ref_from_digits(normalized)
        if ref is not None:
            return Lookup((ref,))
    keyword, rest = _split_keyword(normalized)
    args = rest.split()
    match keyword:
        case "help":
            return Help()
        case "link":
            return _parse_link(args)
        case "unlink":
            return _parse_unlink(args)
        case "whoami":
            return _no_arguments(WhoAmI(), args)
        case "subscriptions":
            return _no_arguments(Subscriptions(), args)
        case "subscribe" | "unsubscribe":
            return _parse_subscription(keyword, rest)
        case "dm":
            return _parse_dm(args)
        case "status":
            return _no_arguments(Status(), args)
        case "refresh":
            return _parse_refs(rest, refresh=True)
        case "recent":
            return _parse_recent(rest)
        case "visibility":
            return _parse_visibility(args)
        case _:
            return _parse_refs(normalized, refresh=False)
