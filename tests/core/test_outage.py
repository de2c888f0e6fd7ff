"""The once-per-outage gate: one WARNING when the storage starts failing, none while it keeps
failing, one INFO line with the outage's length when it works again."""

from __future__ import annotations

import logging

import pytest

from bot.core.outage import StorageOutage
from bot.core.storage import StorageUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def refused() -> StorageUnavailable:
    """A failure as the storage raises it: chained to the driver's error."""
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        except OSError as error:
            raise StorageUnavailable(str(error)) from error
    except StorageUnavailable as unavailable:
        return unavailable


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "bot.core.outage"]


def test_the_first_failure_starts_an_outage_and_the_next_ones_do_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    outage = StorageOutage(clock=Clock())
    assert not outage.down
    assert outage.failed(refused()) is True
    assert outage.down
    assert [outage.failed(refused()) for _ in range(50)] == [False] * 50
    [(level, message)] = outage_lines(caplog)
    assert level == logging.WARNING
    assert "database unavailable" in message
    assert "ConnectionRefusedError" in message and "5432" in message  # what failed, in a line
    assert not any(r.exc_info for r in caplog.records)


def test_the_first_success_ends_the_outage_with_its_length(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    outage = StorageOutage(clock=clock)
    assert outage.worked() is None  # working all along: nothing to say
    outage.failed(refused())
    clock.now += 9.5
    outage.failed(refused())
    clock.now += 0.5
    assert outage.worked() == pytest.approx(10.0)
    assert not outage.down
    assert outage.worked() is None
    assert outage_lines(caplog)[1:] == [(logging.INFO, "database available again after 10.0 s")]


def test_each_outage_has_its_own_warning(caplog: pytest.LogCaptureFixture) -> None:
    outage = StorageOutage(clock=Clock())
    for _ in range(3):
        assert outage.failed(refused()) is True
        assert outage.failed(refused()) is False
        outage.worked()
    warnings = [line for line in outage_lines(caplog) if line[0] == logging.WARNING]
    assert len(warnings) == 3


def test_an_error_without_a_cause_is_named_by_itself() -> None:
    outage = StorageOutage(clock=Clock())
    assert outage.failed(TimeoutError()) is True
