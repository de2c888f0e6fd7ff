"""The audit trail: one INFO line on the `bot.audit` logger for each answer that showed somebody a
meeting's replays (a look-up, a share, a list of one's recent meetings) and each change of who sees what (a link, a subscription,
the DM digest switch, a creator's visibility), so that an operator can tell who saw the replays of
a meeting, and who opened them to whom.

The fields are built by pure functions, one per kind of answer, and written by `write`: as
`key=value` words after "audit" in the text form, and as fields of the JSON object with
`LOG_FORMAT=json` (`bot.logs.JsonFormatter`), beside the correlation fields of the request. What
was shown is given as counts, never as addresses or passwords: the line is read by operators, not
by the people the replays were opened to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.core.meetings import Meeting
from bot.core.outcomes import LookupResult
from bot.core.records import Visibility

if TYPE_CHECKING:  # the use cases that write audit lines are the modules these come from
    from bot.core.identity import LinkChange
    from bot.core.recent import RecentList
    from bot.core.subscriptions import Place, SubscriptionChange

#: the logger every audit line is written on (route or keep it apart by this name)
AUDIT_LOGGER = "bot.audit"
#: the attribute of a log record that carries its audit fields (read by `bot.logs`)
RECORD_ATTRIBUTE = "audit_fields"
#: the outcome of a look-up that was answered with what was found (maybe nothing)
OK = "ok"

log = logging.getLogger(AUDIT_LOGGER)

AuditFields = Mapping[str, str | int]


class Action(StrEnum):
    """What an audit line is about."""

    LOOKUP = "lookup"
    SHARE = "share"
    RECENT = "recent"
    LINK = "link"
    UNLINK = "unlink"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    DM_DIGESTS = "dm_digests"
    VISIBILITY = "visibility"


def shown_counts(meetings: Iterable[Meeting]) -> dict[str, int]:
    """How much of the meetings an answer showed: meetings, live replays, recording files."""
    found = list(meetings)
    return {
        "meetings": len(found),
        "live_replays": sum(len(m.live_replays) for m in found),
        "recording_files": sum(len(r.files) for m in found for r in m.recordings),
    }


def lookup_fields(
    action: Action, team: str, user: str, result: LookupResult, *, channel: str = ""
) -> AuditFields:
    """A look-up (or a share, which looks up again) of one meeting reference: who asked and in
    which channel (a share or a mention is read by the channel), the reference as they gave it (a
    code or an ID), the meeting IDs found, the counts shown, whose meeting it was when read on its
    creator's behalf, and the outcome (`ok` or the problem)."""
    fields: dict[str, str | int] = {
        "audit": action.value,
        "team": team,
        "user": user,
        "channel": channel,
        "meeting": result.ref.value,
        "meeting_ids": ",".join(m.meeting_id for m in result.meetings),
        **shown_counts(result.meetings),
        "outcome": result.problem.value if result.problem is not None else OK,
    }
    if result.owner is not None:
        fields["creator"] = result.owner.userid
    return fields


def recent_fields(team: str, user: str, recent: RecentList) -> AuditFields:
    """A list of the person's own recent meetings with replays (`/replays recent`, App Home): the
    meeting IDs shown, the counts, and the outcome (`ok` or why the list could not be made)."""
    meetings = [shown.meeting for shown in recent.shown]
    return {
        "audit": Action.RECENT.value,
        "team": team,
        "user": user,
        "meeting_ids": ",".join(m.meeting_id for m in meetings),
        **shown_counts(meetings),
        "outcome": recent.problem.value if recent.problem is not None else OK,
    }


def link_fields(action: Action, team: str, actor: str, change: LinkChange) -> AuditFields:
    """A link or unlink: who acted, on whom (themselves or, for an admin, somebody else), the
    Tencent userid concerned, and the outcome."""
    return {
        "audit": action.value,
        "team": team,
        "user": actor,
        "target": change.target,
        "tencent_userid": change.userid or "",
        "outcome": change.outcome.value,
    }


def subscription_fields(action: Action, place: Place, change: SubscriptionChange) -> AuditFields:
    """A subscribe or unsubscribe: who, which channel, the meeting code (empty for all of the
    caller's meetings), the subject filter, and the outcome (a failed check gives its problem)."""
    # Only a failed check of the code has a problem, and the problem says more than "failed".
    outcome = change.problem.value if change.problem is not None else change.outcome.value
    return {
        "audit": action.value,
        "team": place.team_id,
        "user": place.user_id,
        "channel": place.channel_id,
        "meeting": change.code or "",
        "match": change.match or "",
        "outcome": outcome,
    }


def dm_digests_fields(team: str, user: str, enabled: bool) -> AuditFields:
    """The DM digest switch turned on or off."""
    return {
        "audit": Action.DM_DIGESTS.value,
        "team": team,
        "user": user,
        "outcome": "on" if enabled else "off",
    }


def visibility_fields(
    team: str, user: str, visibility: Visibility, userid: str | None
) -> AuditFields:
    """A creator's visibility set (`me` or `workspace`), or refused when they are not linked."""
    return {
        "audit": Action.VISIBILITY.value,
        "team": team,
        "user": user,
        "tencent_userid": userid or "",
        "outcome": visibility.value if userid is not None else "not_linked",
    }


def text_of(fields: AuditFields) -> str:
    """The line's text: "audit", the action, and the other fields as `key=value` words (empty
    ones left out), e.g. `audit lookup team=T1 user=U1 meeting=806146667 … outcome=ok`."""
    words = [f"{key}={value}" for key, value in fields.items() if key != "audit" and value != ""]
    return " ".join(["audit", str(fields.get("audit", "")), *words])


def write(fields: AuditFields) -> None:
    """Write one audit line with these fields."""
    log.info("%s", text_of(fields), extra={RECORD_ATTRIBUTE: dict(fields)})
