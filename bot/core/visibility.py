"""Who may see a meeting's replays: the creator's choice, and the look-ups that follow from it.

Tencent shows a meeting's replays only to its creator. A creator may share them with their Slack
workspace (`/replays visibility workspace`); the default, `me`, keeps Tencent's own rule. The app
learns each meeting's creator from `meeting.end` and from the creator's own successful look-ups,
and keeps it (`MeetingStore`): by meeting ID for good, by code for 30 days, since codes are
recycled 30 days after a meeting's scheduled start.

When someone asks about a meeting whose creator is known and is somebody else:
- with `me`, the answer is at once, without a Tencent call: only the creator can see it;
- with `workspace`, a full member is answered with a look-up made with the creator's userid (so
  any number of people asking at once share one call, coalesced by `ReplayLookup`), and the card
  says whose meeting it is; a guest is refused.

The setting is kept in memory for `visibility_ttl` seconds (15), like links: a creator who turns
it back to `me` stops the next look-up in this instance at once, in the others as soon as they
hear of it (PostgreSQL's announcements, `forget_visibility`) or, unheard, within that time; no
cached replay list is served to someone who may no longer see it, since the cache is consulted
only after the check. Whether the asker *is* the creator is told by the creator's links, so that
hundreds of people asking about one known meeting cost no identity look-up (no directory crawl,
no Tencent call).

A recording whose creator has not turned sharing on can still be opened by its creator on
Tencent's player page: a look-up that asks for `players` (an answer only the asker will read) gets
those pages when the asker looked up their own meeting, never on a creator's behalf.

`ready` answers from memory alone when everything the answer depends on is kept (a known creator's
"only the creator can see it", a cached replay list): the slash command then answers inside its
acknowledgement. It follows the same rules as `lookup`, through the same two decisions
(`_other_owner`, `_refusal`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core import audit
from bot.core.clock import utcnow
from bot.core.identity import Identity
from bot.core.lookup import ReplayLookup
from bot.core.meetings import MeetingRef
from bot.core.memo import Memo
from bot.core.outcomes import LookupProblem, LookupResult, Owner
from bot.core.records import EndedMeeting, Link, Visibility
from bot.core.storage import (
    LinkStore,
    MeetingStore,
    StorageRejected,
    StorageUnavailable,
    VisibilityStore,
)

log = logging.getLogger(__name__)

#: Tencent recycles a meeting code this long after its meeting's scheduled start
CODE_REUSE = timedelta(days=30)


@dataclass(frozen=True)
class Asker:
    """Who asks: their workspace, their Slack user, and whether Slack says they are a guest (a
    profile that could not be read counts as a guest: sharing with full members fails closed)."""

    team_id: str
    slack_user_id: str
    guest: bool = False
    #: where the answer is read (the audit trail's record of who saw it); empty when unknown
    channel_id: str = ""


class MeetingAccess:
    """Look-ups on behalf of people, by the creators' visibility settings (see the module)."""

    def __init__(
        self,
        identity: Identity,
        lookup: ReplayLookup,
        meetings: MeetingStore,
        visibility: VisibilityStore,
        links: LinkStore,
        *,
        creator_ttl: float = 60.0,
        unknown_creator_ttl: float = 5.0,
        links_ttl: float = 15.0,
        visibility_ttl: float = 15.0,
        max_cached_creators: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utcnow,
    ) -> None:
        self._identity = identity
        self._lookup = lookup
        self._meetings = meetings
        self._visibility = visibility
        self._links = links
        self._wall = wall
        # A creator never changes for an ID, and a code's only when it is recycled a month on. An
        # unknown one is kept only briefly: another instance may learn it any moment (this
        # instance puts what it learns here at once). Kept in memory so that a look-up, the hot
        # path, reads and writes no database for what is already known.
        self._creators: Memo[MeetingRef, str | None] = Memo(
            ttl=lambda creator: creator_ttl if creator is not None else unknown_creator_ttl,
            max_entries=max_cached_creators,
            clock=clock,
        )
        #: a creator's Slack links (who they are in Slack), as long as the identity cache keeps one
        self._creator_links: Memo[str, tuple[Link, ...]] = Memo(
            ttl=lambda _links: links_ttl, max_entries=max_cached_creators, clock=clock
        )
        self._visibilities: Memo[tuple[str, str], Visibility] = Memo(
            ttl=lambda _visibility: visibility_ttl, max_entries=max_cached_creators, clock=clock
        )
        #: "not the creator" answers already kept in the database
        self._noted: Memo[tuple[str, str], bool] = Memo(
            ttl=lambda _noted: 3600.0, max_entries=max_cached_creators, clock=clock
        )

    async def meeting_ended(self, meeting: EndedMeeting) -> None:
        """Learn a meeting's creator from Tencent's `meeting.end`."""
        await self._keep_creator(meeting.meeting_id, meeting.meeting_code, meeting.creator_userid)

    async def _keep_creator(self, meeting_id: str, meeting_code: str, creator: str) -> None:
        refs = [MeetingRef("id", meeting_id)]
        if meeting_code:
            refs.append(MeetingRef("code", meeting_code))
        if all(self._creators.get(ref) == creator for ref in refs):
            return  # known already: no write on every look-up
        await self._meetings.learn_creator(meeting_id, meeting_code, creator)
        for ref in refs:
            self._creators.put(ref, creator)

    async def visibility_of(self, team_id: str, userid: str) -> Visibility:
        key = (team_id, userid)
        return await self._visibilities.fetch(key, lambda: self._visibility.get(team_id, userid))

    def known_visibility(self, team_id: str, userid: str) -> Visibility | None:
        """The setting kept in memory, without any I/O; None when none is kept."""
        return self._visibilities.get((team_id, userid))

    def forget_visibility(self, team_id: str, userid: str) -> None:
        """Drop the kept setting: another instance changed it (`bot.store.notify`)."""
        self._visibilities.forget((team_id, userid))

    def forget_all_visibility(self) -> None:
        """Drop every kept setting: changes made elsewhere may have gone unheard."""
        self._visibilities.clear()

    async def set_visibility(
        self, team_id: str, slack_user_id: str, visibility: Visibility
    ) -> str | None:
        """Set who may see the caller's meetings' replays; their userid, None when not linked.
        Raises IdentityUnavailable when who the caller is cannot be told now."""
        userid = await self._identity.resolve(team_id, slack_user_id)
        if userid is None:
            audit.write(audit.visibility_fields(team_id, slack_user_id, visibility, None))
            return None
        key = (team_id, userid)
        # Forgotten before and after, as links are: no read overlapping the write keeps the old one.
        self._visibilities.forget(key)
        try:
            await self._visibility.set(team_id, userid, visibility, set_by=slack_user_id)
        finally:
            self._visibilities.forget(key)
        log.info("%s (%s) set visibility to %s", slack_user_id, userid, visibility)
        audit.write(audit.visibility_fields(team_id, slack_user_id, visibility, userid))
        return userid

    async def lookup_many(
        self,
        refs: Iterable[MeetingRef],
        asker: Asker,
        *,
        fresh: bool = False,
        players: bool = False,
        shown_as: audit.Action = audit.Action.LOOKUP,
    ) -> list[LookupResult]:
        """The answers to show `asker`, each written to the audit trail `shown_as` (a look-up,
        or a share to a channel). Raises IdentityUnavailable when who the asker is cannot be
        told now."""
        results = list(
            await asyncio.gather(
                *(self.lookup(r, asker, fresh=fresh, players=players) for r in refs)
            )
        )
        _audit(shown_as, asker, results)
        return results

    def ready_many(
        self, refs: Iterable[MeetingRef], asker: Asker, *, players: bool = False
    ) -> list[LookupResult] | None:
        """What `lookup_many` would answer, told from memory alone; None when any of it needs
        I/O. Not written to the audit trail: the caller calls `shown` once it is answered."""
        results = [self.ready(ref, asker, players=players) for ref in refs]
        if any(result is None for result in results):
            return None
        return [result for result in results if result is not None]

    def shown(self, results: Iterable[LookupResult], asker: Asker) -> None:
        """Write the look-ups `ready_many` answered to the audit trail."""
        _audit(audit.Action.LOOKUP, asker, results)

    def ready(self, ref: MeetingRef, asker: Asker, *, players: bool = False) -> LookupResult | None:
        """What `lookup` would answer, told from memory alone; None when it needs any I/O."""
        if not self._creators.holds(ref):
            return None  # the database may know a creator who is somebody else
        creator = self._creators.get(ref)
        link = self._identity.known_link(asker.team_id, asker.slack_user_id)
        # An asker linked to the creator is among the creator's links: no need to read them.
        if creator is not None and (link is None or link.tencent_userid != creator):
            links = self._creator_links.get(creator)
            if links is None:
                return None
            owner = _other_owner(creator, links, asker)
            if owner is not None:
                visibility = self.known_visibility(asker.team_id, owner.userid)
                if visibility is None:
                    return None
                refused = _refusal(ref, owner, visibility, asker)
                if refused is not None:
                    return refused
                kept = self._lookup.kept(ref, owner.userid)
                return replace(kept, owner=owner) if kept is not None else None
        if link is None:
            return None
        kept = self._lookup.kept(ref, link.tencent_userid)
        if kept is None or not players or not kept.meetings:
            return kept
        pages = self._lookup.kept_player_pages(kept.meetings, link.tencent_userid)
        return None if pages is None else replace(kept, player_pages=pages)

    async def lookup(
        self, ref: MeetingRef, asker: Asker, *, fresh: bool = False, players: bool = False
    ) -> LookupResult:
        """The look-up of `ref` for `asker`; with `players`, the player pages of their own
        unshared recordings too (see the module). Raises IdentityUnavailable when who the asker
        is cannot be told now."""
        creator = await self._creators.fetch(ref, lambda: self._known_creator(ref))
        if creator is not None and not self._asks_own(creator, asker):
            links = await self._creator_links.fetch(creator, lambda: self._links_of(creator))
            owner = _other_owner(creator, links, asker)
            if owner is not None:
                return await self._on_behalf_of(ref, owner, asker, fresh=fresh)
        userid = await self._identity.resolve(asker.team_id, asker.slack_user_id)
        if userid is None:
            return LookupResult(ref=ref, problem=LookupProblem.NOT_LINKED)
        result = await self._lookup.lookup(ref, userid, fresh=fresh)
        await self._learn(ref, userid, result)
        if players and result.meetings:
            pages = await self._lookup.player_pages(result.meetings, userid)
            result = replace(result, player_pages=pages)
        return result

    def _asks_own(self, creator: str, asker: Asker) -> bool:
        """Whether the asker's link in memory is the creator's: then the creator's links, which
        only tell whether the asker is somebody else, need not be read (nor the database be up)."""
        link = self._identity.known_link(asker.team_id, asker.slack_user_id)
        return link is not None and link.tencent_userid == creator

    async def _known_creator(self, ref: MeetingRef) -> str | None:
        if ref.kind == "id":
            return await self._meetings.creator_by_id(ref.value)
        since = self._wall() - CODE_REUSE
        return await self._meetings.creator_by_code(ref.value, learned_since=since)

    async def _links_of(self, creator: str) -> tuple[Link, ...]:
        return tuple(await self._links.for_tencent_user(creator))

    async def _on_behalf_of(
        self, ref: MeetingRef, owner: Owner, asker: Asker, *, fresh: bool
    ) -> LookupResult:
        visibility = await self.visibility_of(asker.team_id, owner.userid)
        refused = _refusal(ref, owner, visibility, asker)
        if refused is not None:
            return refused
        result = await self._lookup.lookup(ref, owner.userid, fresh=fresh)
        return replace(result, owner=owner)

    async def _learn(self, ref: MeetingRef, userid: str, result: LookupResult) -> None:
        """Keep what a look-up with the asker's own userid told: their meetings, or that they
        did not create this one. Best effort: the answer stands whether or not it is kept."""
        try:
            for found in result.meetings:
                await self._keep_creator(found.meeting_id, found.code, userid)
            noted = (ref.value, userid)
            if (
                result.problem is LookupProblem.NOT_CREATOR
                and ref.kind == "id"
                and not self._noted.get(noted)
            ):
                await self._meetings.note_not_creator(ref.value, userid)
                self._noted.put(noted, True)
        except (StorageUnavailable, StorageRejected) as error:
            log.warning("could not keep what the look-up of %s told: %r", ref.value, error)


def _audit(action: audit.Action, asker: Asker, results: Iterable[LookupResult]) -> None:
    for result in results:
        fields = audit.lookup_fields(
            action, asker.team_id, asker.slack_user_id, result, channel=asker.channel_id
        )
        audit.write(fields)


def _other_owner(creator: str, links: tuple[Link, ...], asker: Asker) -> Owner | None:
    """The creator as an `Owner` when the asker is somebody else; None when the asker is the
    creator, or may be (the creator has no link in this workspace to tell)."""
    here = [link for link in links if link.team_id == asker.team_id]
    if not here or any(link.slack_user_id == asker.slack_user_id for link in here):
        return None
    return Owner(creator, here[0].slack_user_id)


def _refusal(
    ref: MeetingRef, owner: Owner, visibility: Visibility, asker: Asker
) -> LookupResult | None:
    """Why the asker may not see `owner`'s meeting; None when they may (a look-up on the
    creator's behalf follows)."""
    if visibility is not Visibility.WORKSPACE:
        return LookupResult(ref=ref, problem=LookupProblem.ONLY_CREATOR, owner=owner)
    if asker.guest:
        log.info("refused guest %s a look-up of %s's meeting", asker.slack_user_id, owner.userid)
        return LookupResult(ref=ref, problem=LookupProblem.GUEST, owner=owner)
    return None
