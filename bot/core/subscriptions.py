"""Digest settings people change from Slack: channel subscriptions and the DM switch.

The rules live here and come back as typed results; `bot.slack.answers` only words them. Only a
meeting's creator may subscribe a channel to it by code: Tencent answers a replay query only to
the creator, so their successful look-up is the proof. A `match` filter narrows "all my meetings"
to those whose subject contains its words (case-insensitive, `digest_rules.subject_matches`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from bot.core import audit
from bot.core.identity import Identity
from bot.core.lookup import ReplayLookup
from bot.core.meetings import MeetingRef
from bot.core.outcomes import LookupProblem
from bot.core.records import Subscription
from bot.core.storage import PreferenceStore, SubscriptionStore

log = logging.getLogger(__name__)


class SubscriptionOutcome(StrEnum):
    SUBSCRIBED = "subscribed"
    ALREADY_SUBSCRIBED = "already_subscribed"
    UNSUBSCRIBED = "unsubscribed"
    NOT_SUBSCRIBED = "not_subscribed"
    #: the caller has no Tencent Meeting userid
    NOT_LINKED = "not_linked"
    #: `subscribe <code>` by someone who did not create that meeting
    NOT_CREATOR = "not_creator"
    #: the code could not be checked (`problem` says why)
    LOOKUP_FAILED = "lookup_failed"


@dataclass(frozen=True)
class SubscriptionChange:
    outcome: SubscriptionOutcome
    #: the meeting code, or None for "all my meetings"
    code: str | None
    problem: LookupProblem | None = None
    #: the words the subject must contain, or None for no filter
    match: str | None = None


@dataclass(frozen=True)
class Place:
    """Who asks, and in which channel."""

    team_id: str
    user_id: str
    channel_id: str


#: (subscribing, whether the store changed) → outcome
_OUTCOMES = {
    (True, True): SubscriptionOutcome.SUBSCRIBED,
    (True, False): SubscriptionOutcome.ALREADY_SUBSCRIBED,
    (False, True): SubscriptionOutcome.UNSUBSCRIBED,
    (False, False): SubscriptionOutcome.NOT_SUBSCRIBED,
}


class DigestSettings:
    def __init__(
        self,
        identity: Identity,
        lookup: ReplayLookup,
        subscriptions: SubscriptionStore,
        preferences: PreferenceStore,
    ) -> None:
        self._identity = identity
        self._lookup = lookup
        self._subscriptions = subscriptions
        self._preferences = preferences

    async def subscribe(
        self, place: Place, code: str | None = None, match: str | None = None
    ) -> SubscriptionChange:
        """Subscribe the place's channel to the caller's meetings: all of them, one code's, or
        (with `match`) those whose subject contains the words. Raises IdentityUnavailable when
        who the caller is cannot be told now."""
        change = await self._change(place, code, match or None, subscribing=True)
        audit.write(audit.subscription_fields(audit.Action.SUBSCRIBE, place, change))
        return change

    async def unsubscribe(
        self, place: Place, code: str | None = None, match: str | None = None
    ) -> SubscriptionChange:
        """Remove the subscription `subscribe` with the same code and filter made. Raises
        IdentityUnavailable when who the caller is cannot be told now."""
        change = await self._change(place, code, match or None, subscribing=False)
        audit.write(audit.subscription_fields(audit.Action.UNSUBSCRIBE, place, change))
        return change

    async def _change(
        self, place: Place, code: str | None, match: str | None, *, subscribing: bool
    ) -> SubscriptionChange:
        userid = await self._identity.resolve(place.team_id, place.user_id)
        if userid is None:
            return SubscriptionChange(SubscriptionOutcome.NOT_LINKED, code, match=match)
        if subscribing and code is not None:
            refusal = await self._unless_creator(code, userid, match)
            if refusal is not None:
                return refusal
        store = self._subscriptions
        args = (place.team_id, place.channel_id, userid, code)
        if subscribing:
            changed = await store.add(*args, created_by=place.user_id, subject_match=match or "")
        else:
            changed = await store.remove(*args, subject_match=match or "")
        log.info(
            "%s %s %s %s %s (%s%s)",
            place.user_id,
            "subscribed" if subscribing else "unsubscribed",
            place.channel_id,
            "to" if subscribing else "from",
            userid,
            code or "all",
            f", matching {match!r}" if match else "",
        )
        return SubscriptionChange(_OUTCOMES[subscribing, changed], code, match=match)

    async def _unless_creator(
        self, code: str, userid: str, match: str | None
    ) -> SubscriptionChange | None:
        """The refusal when `userid` cannot be shown to have created the meeting `code`."""
        result = await self._lookup.lookup(MeetingRef("code", code), userid)
        if result.problem is LookupProblem.NOT_CREATOR:
            return SubscriptionChange(SubscriptionOutcome.NOT_CREATOR, code, match=match)
        if result.problem is not None:
            return SubscriptionChange(
                SubscriptionOutcome.LOOKUP_FAILED, code, result.problem, match=match
            )
        return None

    async def in_channel(self, place: Place) -> list[Subscription]:
        return await self._subscriptions.in_channel(place.team_id, place.channel_id)

    async def set_dm_digests(self, team_id: str, user_id: str, enabled: bool) -> None:
        await self._preferences.set_dm_digests(team_id, user_id, enabled)
        log.info("%s turned digest DMs %s", user_id, "on" if enabled else "off")
        audit.write(audit.dm_digests_fields(team_id, user_id, enabled))
