"""Events already seen: Slack redelivers an event it thinks was missed (and Bolt does not
deduplicate), so each event id is answered once across every instance; old ids are purged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from bot.core.storage import SeenEvents, StorageUnavailable
from bot.core.waiting import wait_until_set

log = logging.getLogger(__name__)

SLACK_EVENT_PREFIX = "slack-event:"
#: Slack retries an event within minutes; a day leaves a wide margin.
KEEP_SLACK_EVENTS = timedelta(days=1)
PURGE_EVERY_SECONDS = 3600.0


class SeenSlackEvents:
    def __init__(self, events: SeenEvents, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._events = events
        self._clock = clock

    async def first_delivery(self, event_id: str | None) -> bool:
        """False for an event already answered."""
        if not event_id:
            return True
        try:
            return await self._events.first_sighting(f"{SLACK_EVENT_PREFIX}{event_id}")
        except StorageUnavailable as error:
            # Without the database we cannot tell; a possible duplicate beats a certain silence.
            # The outage has its one WARNING (bot.core.outage); this is one per event.
            log.info("could not check whether event %s was answered: %r", event_id, error)
            return True

    async def purge(self) -> int:
        """Forget Slack event ids older than KEEP_SLACK_EVENTS; returns how many."""
        cutoff = self._clock() - KEEP_SLACK_EVENTS
        return await self._events.forget_before(cutoff, prefix=SLACK_EVENT_PREFIX)

    async def run_purge(self, stop: asyncio.Event) -> None:
        """Purge now and every PURGE_EVERY_SECONDS until `stop` is set."""
        while not stop.is_set():
            try:
                if forgotten := await self.purge():
                    log.info("forgot %d old Slack event ids", forgotten)
            except StorageUnavailable as error:
                log.warning("could not purge old Slack event ids: %r", error)
            await wait_until_set(stop, at_most=PURGE_EVERY_SECONDS)
