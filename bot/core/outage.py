"""`StorageOutage`: whether a storage failure starts an outage, so that an outage is logged once.

While the database is down, every command, digest round and health check that needs it fails; a
WARNING (with a traceback) from each would bury the one fact an operator needs: the database is
down since when, and when it came back. The storage reports the outcome of each statement here
(`bot.store.sql`); the first failure after a success starts an outage and logs its one WARNING,
the first success after it ends the outage and logs one INFO line with how long it lasted. Those
who meet the failure meanwhile need not log it above INFO: it is logged here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class StorageOutage:
    """The storage's state as its statements tell it: working, or down since a moment."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._down_since: float | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, error: BaseException) -> bool:
        """Note a statement that failed for want of the storage; True (and the outage's WARNING
        logged) when it starts an outage, False during one."""
        if self._down_since is not None:
            return False
        self._down_since = self._clock()
        log.warning(
            "database unavailable (%s): commands that need it are answered "
            "'temporarily unavailable' until it answers again",
            _reason(error),
        )
        return True

    def worked(self) -> float | None:
        """Note a statement that succeeded; the outage's length in seconds (and its INFO line
        logged) when this ends one, None when there was none."""
        if self._down_since is None:
            return None
        lasted = self._clock() - self._down_since
        self._down_since = None
        log.info("database available again after %.1f s", lasted)
        return lasted


def _reason(error: BaseException) -> str:
    """The error in a line: the driver's own error, which says what failed, when it is chained."""
    cause = error.__cause__ or error
    text = " ".join(str(cause).split())
    return f"{type(cause).__name__}: {text}"[:200]
