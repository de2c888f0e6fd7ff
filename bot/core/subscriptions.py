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
        match = match or None
        userid = await self._identity.resolve(place.team_id, place.user_id)
        if userid is None:
            return SubscriptionChange(SubscriptionOutcome.NOT_LINKED, code, match=match)
        if code is not None:
            result = await self._lookup.lookup(MeetingRef("code", code), userid)
            if result.problem is LookupProblem.NOT_CREATOR:
                return SubscriptionChange(SubscriptionOutcome.NOT_CREATOR, code, match=match)
            if result.problem is not None:
                return SubscriptionChange(
                    SubscriptionOutcome.LOOKUP_FAILED, code, result.problem, match=match
                )
        created = await self._subscriptions.add(
            place.team_id,
            place.channel_id,
            userid,
            code,
            created_by=place.user_id,
            subject_match=match or "",
        )
        log.info(
            "%s subscribed %s to %s (%s%s)",
            place.user_id,
            place.channel_id,
            userid,
            code or "all",
            f", matching {match!r}" if match else "",
        )
        outcome = (
            SubscriptionOutcome.SUBSCRIBED if created else SubscriptionOutcome.ALREADY_SUBSCRIBED
        )
        return SubscriptionChange(outcome, code, match=match)

    async def unsubscribe(
        self, place: Place, code: str | None = None, match: str | None = None
    ) -> SubscriptionChange:
        """Remove the subscription `subscribe` with the same code and filter made. Raises
        IdentityUnavailable when who the caller is cannot be told now."""
        match = match or None
        userid = await self._identity.resolve(place.team_id, place.user_id)
        if userid is None:
            return SubscriptionChange(SubscriptionOutcome.NOT_LINKED, code, match=match)
        removed = await self._subscriptions.remove(
            place.team_id, place.channel_id, userid, code, subject_match=match or ""
        )
        log.info(
            "%s unsubscribed %s from %s (%s%s)",
            place.user_id,
            place.channel_id,
            userid,
            code or "all",
            f", matching {match!r}" if match else "",
        )
        outcome = (
            SubscriptionOutcome.UNSUBSCRIBED if removed else SubscriptionOutcome.NOT_SUBSCRIBED
        )
        return SubscriptionChange(outcome, code, match=match)

    async def in_channel(self, place: Place) -> list[Subscription]:
        return await self._subscriptions.in_channel(place.team_id, place.channel_id)

    async def set_dm_digests(self, team_id: str, user_id: str, enabled: bool) -> None:
        await self._preferences.set_dm_digests(team_id, user_id, enabled)
        log.info("%s turned digest DMs %s", user_id, "on" if enabled else "off")
