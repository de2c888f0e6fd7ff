"""What can go wrong when the app asks the meeting service, in the core's words.

The service's adapter (`bot.meeting`) turns every failure of its calls into one
`MeetingServiceError` carrying a `Failure`, once, where its requests are made; the core words
each `Failure` for people as a `bot.core.outcomes.LookupProblem` (`problem_for`).
"""

from __future__ import annotations

from enum import StrEnum


class Failure(StrEnum):
    """Why a call to the meeting service gave no answer."""

    #: only the meeting's creator may see its replays, and the userid asked for is not them
    NOT_CREATOR = "not_creator"
    #: no such meeting (codes are recycled 30 days after the scheduled start)
    NOT_FOUND = "not_found"
    #: the userid is not a user of the enterprise
    USER_NOT_REGISTERED = "user_not_registered"
    #: over the service's quota, or the app's own call budget is used up for now
    BUSY = "busy"
    #: no usable answer: network trouble, timeouts, 5xx, or a refusal with no known reason
    UNREACHABLE = "unreachable"
    #: the app's credentials, signature or clock are refused: an operator must act
    MISCONFIGURED = "misconfigured"
    #: an answer this app cannot read
    MALFORMED = "malformed"


class MeetingServiceError(Exception):
    """A call to the meeting service failed as `failure`; `detail` (the str) says what support
    needs to know and never holds a secret."""

    def __init__(self, failure: Failure, detail: str = "") -> None:
        self.failure = failure
        self.detail = detail
        super().__init__(detail or failure.value)
