"""`bot.core.storage.SubscriptionStore` in memory."""

from __future__ import annotations

from bot.core.clock import utcnow
from bot.core.records import Subscription

#: How a subscription to every meeting is keyed, as in the subscriptions table.
ALL_MEETINGS = ""

_Key = tuple[str, str, str, str, str]


class MemorySubscriptionStore:
    """Subscriptions in a dict keyed like the table's primary key (team, channel, creator, code,
    filter), and listed in that key's order."""

    def __init__(self) -> None:
        self._subscriptions: dict[_Key, Subscription] = {}

    async def add(
        self,
        team_id: str,
        channel_id: str,
        tencent_userid: str,
        meeting_code: str | None,
        *,
        created_by: str,
        subject_match: str = "",
    ) -> bool:
        key = (team_id, channel_id, tencent_userid, meeting_code or ALL_MEETINGS, subject_match)
        if key in self._subscriptions:
            return False
        self._subscriptions[key] = Subscription(
            team_id=team_id,
            channel_id=channel_id,
            tencent_userid=tencent_userid,
            meeting_code=meeting_code or None,
            created_by=created_by,
            created_at=utcnow(),
            subject_match=subject_match,
        )
        return True

    async def remove(
        self,
        team_id: str,
        channel_id: str,
        tencent_userid: str,
        meeting_code: str | None,
        *,
        subject_match: str = "",
    ) -> bool:
        key = (team_id, channel_id, tencent_userid, meeting_code or ALL_MEETINGS, subject_match)
        return self._subscriptions.pop(key, None) is not None

    async def in_channel(self, team_id: str, channel_id: str) -> list[Subscription]:
        return [s for s in self._ordered() if (s.team_id, s.channel_id) == (team_id, channel_id)]

    async def for_meeting(self, tencent_userid: str, meeting_code: str) -> list[Subscription]:
        return [
            s
            for s in self._ordered()
            if s.tencent_userid == tencent_userid
            and (s.meeting_code or ALL_MEETINGS) in (ALL_MEETINGS, meeting_code)
        ]

    async def watched_codes(self) -> list[tuple[str, str]]:
        return sorted(
            {(s.tencent_userid, s.meeting_code) for s in self._ordered() if s.meeting_code}
        )

    async def made_by(self, team_id: str, slack_user_id: str) -> list[Subscription]:
        return [s for s in self._ordered() if (s.team_id, s.created_by) == (team_id, slack_user_id)]

    async def all_meetings_creators(self) -> list[str]:
        return sorted({s.tencent_userid for s in self._ordered() if not s.meeting_code})

    def _ordered(self) -> list[Subscription]:
        return [self._subscriptions[key] for key in sorted(self._subscriptions)]
