"""Who sent a Slack request, resolved once for every listener by a Bolt middleware.

`resolve_caller` puts an `IncomingCaller` in the Bolt context under `caller`; Bolt passes context
keys to listeners by name, so a listener declares `caller: IncomingCaller` and is handed it. The
middleware does no I/O, because acknowledgements come first: it reads the ids from the payload
and the profile only from the cache (`known`). The profile itself (language, guest) is fetched by
`complete`, which the work after the acknowledgement awaits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncBoltContext

from bot.core.subscriptions import Place
from bot.core.visibility import Asker
from bot.i18n import Locale
from bot.slack.profiles import SlackProfile, SlackProfiles

#: the Bolt context key listeners name to receive the `IncomingCaller`
CALLER_KEY = "caller"


@dataclass(frozen=True)
class Caller:
    """The person asking, with their profile: what an answer is made for."""

    team_id: str
    user_id: str
    channel_id: str
    locale: Locale
    #: a guest of the workspace (Slack's restricted or ultra-restricted users)
    guest: bool = False

    @property
    def place(self) -> Place:
        return Place(self.team_id, self.user_id, self.channel_id)

    @property
    def asker(self) -> Asker:
        return Asker(self.team_id, self.user_id, self.guest, channel_id=self.channel_id)


class IncomingCaller:
    """The person behind one request: their ids at once, their profile on `complete()`."""

    def __init__(
        self, profiles: SlackProfiles, *, team_id: str, user_id: str, channel_id: str
    ) -> None:
        self.team_id = team_id
        self.user_id = user_id
        self.channel_id = channel_id
        self._profiles = profiles
        self._completed: Caller | None = None

    def known(self) -> Caller | None:
        """The whole caller when their profile is in memory (no I/O); None otherwise."""
        if self._completed is not None:
            return self._completed
        profile = self._profiles.cached(self.user_id)
        return self._with(profile) if profile is not None else None

    @property
    def locale(self) -> Locale:
        """Their language as far as it is known without I/O: English until their profile is."""
        known = self.known()
        return known.locale if known is not None else "en"

    async def complete(self) -> Caller:
        """The whole caller, their profile read from Slack when it is not in memory."""
        if self._completed is None:
            self._completed = self._with(await self._profiles.get(self.user_id))
        return self._completed

    def _with(self, profile: SlackProfile) -> Caller:
        return Caller(
            team_id=self.team_id,
            user_id=self.user_id,
            channel_id=self.channel_id,
            locale=profile.locale,
            guest=profile.guest,
        )


def caller_ids(body: dict[str, Any]) -> tuple[str, str, str]:
    """(team, user, channel) as a command, an event or an interaction names them; "" when absent.
    The team is the one the payload names, not Bolt's pick among the app's authorizations."""
    event: dict[str, Any] = body.get("event") or {}
    team = (
        _id_of(body.get("team_id"))
        or _id_of(body.get("team"))
        or _id_of(body.get("user"), "team_id")
        or _id_of(event.get("team"))
    )
    user = _id_of(body.get("user_id")) or _id_of(body.get("user")) or _id_of(event.get("user"))
    channel = (
        _id_of(body.get("channel_id"))
        or _id_of(body.get("channel"))
        or _id_of(event.get("channel"))
    )
    return team, user, channel


def _id_of(value: object, key: str = "id") -> str:
    """A payload's id field: the string itself, or `value[key]` when it is an object."""
    if isinstance(value, dict):
        value = value.get(key)
    return value if isinstance(value, str) else ""


def resolve_caller(
    profiles: SlackProfiles,
) -> Callable[..., Awaitable[None]]:
    """The Bolt middleware that puts the request's `IncomingCaller` in its context."""

    async def middleware(
        body: dict[str, Any], context: AsyncBoltContext, next_: Callable[[], Awaitable[None]]
    ) -> None:
        team_id, user_id, channel_id = caller_ids(body)
        context[CALLER_KEY] = IncomingCaller(
            profiles, team_id=team_id, user_id=user_id, channel_id=channel_id
        )
        await next_()

    return middleware
