"""The lane of the work under way: a person waiting for an answer, or background work.

Every call to the meeting service is made in a lane, which the call budget
(`bot.meeting.quota.CallBudget`) serves people first. Work marks its lane with `in_lane` or
`bind_lane`, a context variable (as `bot.core.correlation` is) that every task and call made under
it inherits; the lane is the core's to set (the digest worker and the poller are background work)
and the budget's to honour.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from enum import StrEnum


class Lane(StrEnum):
    """Who a call is for: a person waiting for an answer, or background work (digests, polling)."""

    PEOPLE = "people"
    BACKGROUND = "background"


class SharedLane:
    """The lane of work done once for several callers (a look-up a digest started that people ask
    for too): the lane of the caller that started it, raised to people's for good as soon as a
    person joins. A budget with one of its calls queued moves the call up at once."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self._on_raise: list[Callable[[], None]] = []

    def join(self, lane: Lane) -> None:
        """A caller in `lane` waits for this work too."""
        if lane is Lane.PEOPLE and self.lane is not Lane.PEOPLE:
            self.lane = Lane.PEOPLE
            for listener in list(self._on_raise):
                listener()

    @contextlib.contextmanager
    def listening(self, listener: Callable[[], None]) -> Iterator[None]:
        """Call `listener` whenever this lane is raised, for as long as the block runs."""
        self._on_raise.append(listener)
        try:
            yield
        finally:
            self._on_raise.remove(listener)


_lane: ContextVar[Lane | SharedLane] = ContextVar("budget_lane", default=Lane.PEOPLE)


def current_lane() -> Lane:
    """The lane of the work under way (PEOPLE unless marked otherwise)."""
    return lane_of(_lane.get())


def current_claim() -> Lane | SharedLane:
    """What the work under way hands to `CallBudget.acquire`: its lane, or the shared lane of the
    work it does for several callers (which can still be raised while its call waits)."""
    return _lane.get()


def lane_of(claim: Lane | SharedLane) -> Lane:
    return claim if isinstance(claim, Lane) else claim.lane


def bind_lane(lane: Lane) -> None:
    """Put the rest of the current context (a digest job's task, say) in `lane`; tasks created
    afterwards inherit it."""
    _lane.set(lane)


@contextlib.contextmanager
def in_lane(lane: Lane | SharedLane) -> Iterator[None]:
    """Put the calls made in a block (and in tasks created in it) in `lane`, then go back."""
    token = _lane.set(lane)
    try:
        yield
    finally:
        _lane.reset(token)
