"""`bot.core.storage.LinkStore` in memory."""

from __future__ import annotations

from bot.core.clock import utcnow
from bot.core.records import Link, LinkMethod


class MemoryLinkStore:
    """Links in a dict keyed by (team_id, slack_user_id)."""

    def __init__(self) -> None:
        self._links: dict[tuple[str, str], Link] = {}

    async def get(self, team_id: str, slack_user_id: str) -> Link | None:
        return self._links.get((team_id, slack_user_id))

    async def save(
        self,
        team_id: str,
        slack_user_id: str,
        tencent_userid: str,
        *,
        method: LinkMethod,
        linked_by: str,
    ) -> Link:
        now = utcnow()
        old = self._links.get((team_id, slack_user_id))
        link = Link(
            team_id=team_id,
            slack_user_id=slack_user_id,
            tencent_userid=tencent_userid,
            method=LinkMethod(method),
            linked_by=linked_by,
            created_at=old.created_at if old else now,
            updated_at=now,
        )
        self._links[(team_id, slack_user_id)] = link
        return link

    async def delete(self, team_id: str, slack_user_id: str) -> Link | None:
        return self._links.pop((team_id, slack_user_id), None)

    async def for_tencent_user(self, tencent_userid: str) -> list[Link]:
        ordered = [self._links[key] for key in sorted(self._links)]
        return [link for link in ordered if link.tencent_userid == tencent_userid]
