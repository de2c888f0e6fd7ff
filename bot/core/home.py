"""What a person's App Home shows: their link, who may see their meetings' replays, the DM digest
switch, the subscriptions they made and their recent meetings with replays.

Gathered here so that the Slack side only renders; the recent list comes from the cache while it
is fresh (opening the Home tab again costs no Tencent call) and is made anew on Refresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import audit
from bot.core.identity import Identity
from bot.core.recent import RecentList, RecentMeetings
from bot.core.records import Link, Subscription, Visibility
from bot.core.storage import PreferenceStore, SubscriptionStore
from bot.core.visibility import MeetingAccess


@dataclass(frozen=True)
class HomeState:
    """One person's App Home, as data. `userid` is None when they are not linked (and no email
    matched): then there is nothing of theirs to list, only how to link."""

    link: Link | None
    userid: str | None
    visibility: Visibility
    dm_digests: bool
    subscriptions: tuple[Subscription, ...]
    recent: RecentList | None


class HomeSummary:
    def __init__(
        self,
        identity: Identity,
        access: MeetingAccess,
        recent: RecentMeetings,
        subscriptions: SubscriptionStore,
        preferences: PreferenceStore,
    ) -> None:
        self._identity = identity
        self._access = access
        self._recent = recent
        self._subscriptions = subscriptions
        self._preferences = preferences

    async def state(self, team_id: str, user_id: str, *, refresh: bool = False) -> HomeState:
        """Raises IdentityUnavailable when who the person is cannot be told now."""
        userid = await self._identity.resolve(team_id, user_id)
        link = await self._identity.link_of(team_id, user_id)
        dm = await self._preferences.dm_digests_enabled(team_id, user_id)
        subscriptions = tuple(await self._subscriptions.made_by(team_id, user_id))
        if userid is None:
            return HomeState(link, None, Visibility.ME, dm, subscriptions, None)
        visibility = await self._access.visibility_of(team_id, userid)
        recent = None if refresh else self._recent.cached(userid)
        if recent is None:
            recent = await self._recent.recent(userid, fresh=refresh)
        audit.write(audit.recent_fields(team_id, user_id, recent))
        return HomeState(link, userid, visibility, dm, subscriptions, recent)
