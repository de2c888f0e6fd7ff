"""The result of looking up one meeting reference: what the core hands to the renderer.

A result either carries the meetings Tencent returned for the reference (possibly none, possibly
several: a code can name several meetings) or says, as a `LookupProblem`, why there are none to
show.
Problems are worded for people in `bot.i18n` (key `lookup_<value>`); a failure of the meeting
service becomes one here (`problem_for`), and only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.failures import Failure
from bot.core.meetings import Meeting, MeetingRef


class LookupProblem(StrEnum):
    """Why a look-up produced no meetings to show."""

    #: the Slack user has no Tencent Meeting userid (no link, no matching email)
    NOT_LINKED = "not_linked"
    #: Tencent only shows replays to the meeting's creator, and the caller is not them
    NOT_CREATOR = "not_creator"
    #: no such meeting (codes are recycled 30 days after the scheduled start)
    NOT_FOUND = "not_found"
    #: the linked userid is not a user of the enterprise
    USER_NOT_REGISTERED = "user_not_registered"
    #: Tencent's quota or the app's own call budget is used up for now
    BUSY = "busy"
    #: Tencent Meeting did not answer usably (network, timeouts, 5xx)
    UNAVAILABLE = "unavailable"
    #: Tencent rejects the app's credentials, signature or clock: an operator must act
    MISCONFIGURED = "misconfigured"
    #: Tencent answered something this app cannot read
    MALFORMED = "malformed"
    #: the meeting's creator (`LookupResult.owner`) is known and keeps its replays to themselves
    ONLY_CREATOR = "only_creator"
    #: the creator shares with the workspace's full members, and the asker is a guest
    GUEST = "guest"


_PROBLEMS: dict[Failure, LookupProblem] = {
    Failure.NOT_CREATOR: LookupProblem.NOT_CREATOR,
    Failure.NOT_FOUND: LookupProblem.NOT_FOUND,
    Failure.USER_NOT_REGISTERED: LookupProblem.USER_NOT_REGISTERED,
    Failure.BUSY: LookupProblem.BUSY,
    Failure.UNREACHABLE: LookupProblem.UNAVAILABLE,
    Failure.MISCONFIGURED: LookupProblem.MISCONFIGURED,
    Failure.MALFORMED: LookupProblem.MALFORMED,
}


def problem_for(failure: Failure) -> LookupProblem:
    """What a person is told when the meeting service failed this way."""
    return _PROBLEMS[failure]


@dataclass(frozen=True, slots=True)
class Owner:
    """A meeting's creator as the app knows them: their Tencent userid and, when they are linked
    in the asker's workspace, their Slack user."""

    userid: str
    slack_user_id: str | None = None


@dataclass(frozen=True, slots=True)
class LookupResult:
    """The outcome of looking up `ref`: `meetings` when it worked, else the `problem`."""

    ref: MeetingRef
    meetings: tuple[Meeting, ...] = ()
    problem: LookupProblem | None = None
    #: the creator, when the answer was given on their behalf (they share with the workspace) or
    #: refused because of their choice; None when the asker looked up their own meeting
    owner: Owner | None = None
    #: (record_file_id, Tencent's player page) of recording files nobody may open by a link,
    #: fetched only for the creator's own answers that nobody else reads
    player_pages: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # A result that is both a failure and a success would render ambiguously: refuse it early.
        if self.problem is not None and self.meetings:
            raise ValueError("a LookupResult has either meetings or a problem, not both")

    def player_page(self, file_id: str) -> str:
        """The player page fetched for this recording file; empty when none was."""
        return next((page for f, page in self.player_pages if f == file_id), "")

    @property
    def ok(self) -> bool:
        """Whether the look-up worked (it may still have found no meeting or no replay)."""
        return self.problem is None
