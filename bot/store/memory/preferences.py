"""`bot.core.storage.PreferenceStore` in memory."""

from __future__ import annotations


class MemoryPreferenceStore:
    """Each user's digest-DM setting in a dict; a user never asked is on."""

    def __init__(self) -> None:
        self._dm_digests: dict[tuple[str, str], bool] = {}

    async def dm_digests_enabled(self, team_id: str, slack_user_id: str) -> bool:
        return self._dm_digests.get((team_id, slack_user_id), True)

    async def set_dm_digests(self, team_id: str, slack_user_id: str, enabled: bool) -> None:
        self._dm_digests[(team_id, slack_user_id)] = bool(enabled)
