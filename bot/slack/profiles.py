"""Slack user profiles (email, locale, guest) from `users.info`, kept in a `Memo` so that repeat
callers cost nothing and concurrent requests for one user share a single call.

A failed call yields an empty profile (English, no email, a guest) and a log line, and is not kept:
a person still gets an answer, just not a personalised one, and the next request asks again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.memo import Memo
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
        # A profile Slack did not give (None) is not kept: the next request tries again.
        self._memo: Memo[str, SlackProfile | None] = Memo(
            ttl=lambda profile: ttl if profile is not None else 0.0,
            max_entries=max_entries,
            clock=clock,
        )

    def cached(self, user_id: str) -> SlackProfile | None:
        """The kept profile, without any I/O; None when there is none."""
        return self._memo.get(user_id)

    async def get(self, user_id: str) -> SlackProfile:
        profile = await self._memo.fetch(user_id, lambda: self._fetch(user_id))
        return profile if profile is not None else SlackProfile(user_id=user_id)

    async def email_of(self, user_id: str) -> str | None:
        return (await self.get(user_id)).email

    async def _fetch(self, user_id: str) -> SlackProfile | None:
        try:
            response = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            log.warning("users.info for %s failed: %s", user_id, error.response.get("error"))
            return None
        except Exception as error:  # network trouble must not stop an answer
            log.warning("users.info for %s failed: %r", user_id, error)
            return None
        user = response.get("user") or {}
        return SlackProfile(
            user_id=user_id,
            email=(user.get("profile") or {}).get("email") or None,
            locale=locale_from_slack(user.get("locale")),
            guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        )
