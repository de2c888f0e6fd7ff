"""Slack user profiles (email and locale) from `users.info`, cached so repeat callers cost nothing.

Concurrent requests for one user share a single call. A failed call yields an empty profile (English,
no email) and a log line: a person still gets an answer, just not a personalised one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import Locale, locale_from_slack

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackProfile:
    user_id: str
    email: str | None = None
    locale: Locale = "en"
    #: a workspace guest (restricted or ultra-restricted); True too when the profile could not be
    #: read, so that what is shared with full members only fails closed
    guest: bool = True


class SlackProfiles:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl: float = 3600.0,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, SlackProfile]] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[SlackProfile]] = {}

    def cached(self, user_id: str) -> SlackProfile | None:
        entry = self._cache.get(user_id)
        if entry is None or self._clock() >= entry[0]:
            return None
        return entry[1]

    def locale_hint(self, user_id: str) -> Locale:
        """The locale we already know, without any I/O (for the immediate acknowledgement)."""
        profile = self.cached(user_id)
        return profile.locale if profile else "en"

    async def get(self, user_id: str) -> SlackProfile:
        if (profile := self.cached(user_id)) is not None:
            return profile
        pending = self._in_flight.get(user_id)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(user_id))
            self._in_flight[user_id] = pending
            pending.add_done_callback(lambda _: self._in_flight.pop(user_id, None))
        return await asyncio.shield(pending)

    async def email_of(self, user_id: str) -> str | None:
        return (await self.get(user_id)).email

    async def _fetch(self, user_id: str) -> SlackProfile:
        try:
            response = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            log.warning("users.info for %s failed: %s", user_id, error.response.get("error"))
            return SlackProfile(user_id=user_id)
        except Exception as error:  # network trouble must not stop an answer
            log.warning("users.info for %s failed: %r", user_id, error)
            return SlackProfile(user_id=user_id)
        user = response.get("user") or {}
        email = (user.get("profile") or {}).get("email") or None
        profile = SlackProfile(
            user_id=user_id,
            email=email,
            locale=locale_from_slack(user.get("locale")),
            guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        )
        self._cache[user_id] = (self._clock() + self._ttl, profile)
        self._cache.move_to_end(user_id)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
        return profile
