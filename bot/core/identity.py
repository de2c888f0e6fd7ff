"""Who is who: a Slack user's Tencent Meeting userid, and the rules for linking one.

Resolution, in order: the stored link; else the Tencent user whose email equals the Slack profile email
(from a cached copy of the enterprise directory), which is then stored so the next command costs no
directory or Slack call; else not linked. A found link is kept in memory for `link_ttl` seconds (15 by
default) so that the hot path of a look-up reads no database: this instance's own link changes take
effect at once, another instance's as soon as it is heard of (`forget_link`, on PostgreSQL's
announcements) or, unheard, within that time. Nobody may link themselves to another person's userid: a
self-link is accepted only when the Tencent user's email equals the caller's Slack email, because the
replay endpoints answer whoever the userid is and a wrong link would show that person's replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.core import audit
from bot.core.failures import Failure, MeetingServiceError
from bot.core.meetings import DirectoryUser
from bot.core.memo import Memo
from bot.core.records import Link, LinkMethod
from bot.core.sources import Directory
from bot.core.storage import LinkStore

log = logging.getLogger(__name__)


class IdentityUnavailable(Exception):
    """Who the caller is depends on Tencent's directory, and it cannot be read now: "you are not
    linked" would send the person off to link themselves for nothing."""


class EmailSource(Protocol):
    async def email_of(self, user_id: str) -> str | None: ...


def same_email(a: str | None, b: str | None) -> bool:
    return bool(a and b and a.strip().casefold() == b.strip().casefold())


class TencentDirectory:
    """A cached copy of the enterprise's users, by email, refreshed within quota.

    One crawl serves everybody: concurrent callers wait for the same crawl, and an email not found
    triggers at most one refresh per `min_refresh_interval`, so a burst of unknown users never
    becomes a crawl each. A failed crawl is not retried for `retry_after_failure` seconds (callers
    queued behind it get its error at once instead of crawling again one after another); while an
    older copy exists, it keeps answering.
    """

    def __init__(
        self,
        source: Directory,
        operator_id: str,
        *,
        ttl: float = 3600.0,
        min_refresh_interval: float = 300.0,
        retry_after_failure: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._operator_id = operator_id
        self._ttl = ttl
        self._min_refresh_interval = min_refresh_interval
        self._retry_after_failure = retry_after_failure
        self._clock = clock
        self._by_email: dict[str, DirectoryUser] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._failure: MeetingServiceError | None = None
        self._lock = asyncio.Lock()
        self.crawls = 0

    async def find_by_email(self, email: str) -> DirectoryUser | None:
        """The user with this email; raises MeetingServiceError only when no copy can be had."""
        key = email.strip().casefold()
        age = self._age()
        if age is None or age >= self._ttl:
            await self._refresh(unless_newer_than=self._ttl)
        elif key not in self._by_email:
            await self._refresh(unless_newer_than=self._min_refresh_interval)
        return self._by_email.get(key)

    def _age(self) -> float | None:
        return None if self._fetched_at is None else self._clock() - self._fetched_at

    async def _refresh(self, *, unless_newer_than: float) -> None:
        async with self._lock:
            age = self._age()
            if age is not None and age < unless_newer_than:
                return  # somebody refreshed while we waited for the lock
            if self._failed_recently():
                self._use_old_copy_or_raise()
                return
            self.crawls += 1
            try:
                users = await self._source.list_users(operator_id=self._operator_id)
            except MeetingServiceError as error:
                self._failed_at, self._failure = self._clock(), error
                log.warning("directory refresh failed: %s", error)
                self._use_old_copy_or_raise()
                return
            self._by_email = {u.email.strip().casefold(): u for u in users if u.email.strip()}
            self._fetched_at = self._clock()
            self._failed_at = self._failure = None
            log.info("directory refreshed: %d users with an email", len(self._by_email))

    def _failed_recently(self) -> bool:
        return (
            self._failed_at is not None
            and self._clock() - self._failed_at < self._retry_after_failure
        )

    def _use_old_copy_or_raise(self) -> None:
        if self._fetched_at is None and self._failure is not None:
            raise self._failure


class LinkOutcome(StrEnum):
    LINKED = "linked"
    UNLINKED = "unlinked"
    NOTHING_TO_UNLINK = "nothing_to_unlink"
    NOT_ADMIN = "not_admin"
    EMAIL_MISMATCH = "email_mismatch"
    NO_SLACK_EMAIL = "no_slack_email"
    CANNOT_VERIFY = "cannot_verify"
    UNKNOWN_USERID = "unknown_userid"
    TAKEN = "taken"
    TENCENT_PROBLEM = "tencent_problem"


@dataclass(frozen=True)
class LinkChange:
    outcome: LinkOutcome
    target: str
    userid: str | None = None


class Identity:
    def __init__(
        self,
        links: LinkStore,
        emails: EmailSource,
        users: Directory,
        *,
        operator_id: str | None,
        admins: frozenset[str],
        directory: TencentDirectory | None = None,
        link_ttl: float = 15.0,
        max_cached_links: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._links = links
        self._emails = emails
        self._users = users
        self._operator_id = operator_id
        self._admins = admins
        self._directory = directory
        # Found links only: an unlinked person is looked up again (they may link any moment).
        self._links_kept: Memo[tuple[str, str], Link | None] = Memo(
            ttl=lambda link: link_ttl if link is not None else 0.0,
            max_entries=max_cached_links,
            clock=clock,
        )

    def is_admin(self, slack_user_id: str) -> bool:
        return slack_user_id in self._admins

    def forget_link(self, team_id: str, slack_user_id: str) -> None:
        """Drop the link kept in memory: another instance changed it (`bot.store.notify`)."""
        self._links_kept.forget((team_id, slack_user_id))

    def forget_all_links(self) -> None:
        """Drop every link kept in memory: changes made elsewhere may have gone unheard."""
        self._links_kept.clear()

    async def link_of(self, team_id: str, slack_user_id: str) -> Link | None:
        return await self._links.get(team_id, slack_user_id)

    def known_link(self, team_id: str, slack_user_id: str) -> Link | None:
        """The caller's link as kept in memory, without any I/O; None when none is kept (they
        may be linked all the same: `link_of` and `resolve` tell)."""
        return self._links_kept.get((team_id, slack_user_id))

    async def resolve(self, team_id: str, slack_user_id: str) -> str | None:
        """The caller's meeting userid, or None when they are not linked and no email matches.

        Raises IdentityUnavailable when only Tencent's directory could tell and it cannot be read.
        """
        key = (team_id, slack_user_id)
        link = await self._links_kept.fetch(key, lambda: self._find(team_id, slack_user_id))
        return link.tencent_userid if link is not None else None

    async def _find(self, team_id: str, slack_user_id: str) -> Link | None:
        link = await self._links.get(team_id, slack_user_id)
        if link is not None:
            return link
        if self._directory is None:
            return None
        email = await self._emails.email_of(slack_user_id)
        if not email:
            return None
        try:
            user = await self._directory.find_by_email(email)
        except MeetingServiceError as error:
            log.warning("could not tell who %s is: %s", slack_user_id, error)
            raise IdentityUnavailable() from error
        if user is None:
            return None
        saved = await self._links.save(
            team_id,
            slack_user_id,
            user.userid,
            method=LinkMethod.EMAIL_MATCH,
            linked_by=slack_user_id,
        )
        log.info("linked %s to %s by email match", slack_user_id, user.userid)
        return saved

    async def link_self(self, team_id: str, slack_user_id: str, userid: str) -> LinkChange:
        """Link the caller to `userid` once Tencent's directory shows the same email as Slack."""
        change = await self._link_self(team_id, slack_user_id, userid)
        audit.write(audit.link_fields(audit.Action.LINK, team_id, slack_user_id, change))
        return change

    async def link_other(self, team_id: str, actor: str, target: str, userid: str) -> LinkChange:
        """An admin links somebody else to `userid`."""
        change = await self._link_other(team_id, actor, target, userid)
        audit.write(audit.link_fields(audit.Action.LINK, team_id, actor, change))
        return change

    async def unlink(self, team_id: str, actor: str, target: str | None = None) -> LinkChange:
        """Remove the link of the caller or (an admin) of `target`."""
        change = await self._unlink(team_id, actor, target)
        audit.write(audit.link_fields(audit.Action.UNLINK, team_id, actor, change))
        return change

    async def _link_self(self, team_id: str, slack_user_id: str, userid: str) -> LinkChange:
        if self._operator_id is None:
            return LinkChange(LinkOutcome.CANNOT_VERIFY, slack_user_id, userid)
        slack_email = await self._emails.email_of(slack_user_id)
        if not slack_email:
            return LinkChange(LinkOutcome.NO_SLACK_EMAIL, slack_user_id, userid)
        try:
            user = await self._users.user_detail(userid, operator_id=self._operator_id)
        except MeetingServiceError as error:
            if error.failure is Failure.USER_NOT_REGISTERED:
                return LinkChange(LinkOutcome.UNKNOWN_USERID, slack_user_id, userid)
            log.warning("could not verify link of %s to %s: %s", slack_user_id, userid, error)
            return LinkChange(LinkOutcome.TENCENT_PROBLEM, slack_user_id, userid)
        if not same_email(user.email, slack_email):
            log.warning("refused self-link of %s to %s: emails differ", slack_user_id, userid)
            return LinkChange(LinkOutcome.EMAIL_MISMATCH, slack_user_id, userid)
        others = [
            link
            for link in await self._links.for_tencent_user(userid)
            if (link.team_id, link.slack_user_id) != (team_id, slack_user_id)
        ]
        if others:
            # Another Slack account already speaks for this userid; only an admin may move it.
            log.warning("refused self-link of %s to %s: already linked", slack_user_id, userid)
            return LinkChange(LinkOutcome.TAKEN, slack_user_id, userid)
        await self._save(team_id, slack_user_id, userid, LinkMethod.SELF_VERIFIED, slack_user_id)
        log.info("%s linked themselves to %s (email verified)", slack_user_id, userid)
        return LinkChange(LinkOutcome.LINKED, slack_user_id, userid)

    async def _link_other(self, team_id: str, actor: str, target: str, userid: str) -> LinkChange:
        if not self.is_admin(actor):
            log.warning("refused: non-admin %s tried to link %s to %s", actor, target, userid)
            return LinkChange(LinkOutcome.NOT_ADMIN, target, userid)
        await self._save(team_id, target, userid, LinkMethod.ADMIN, actor)
        log.info("admin %s linked %s to %s", actor, target, userid)
        return LinkChange(LinkOutcome.LINKED, target, userid)

    async def _unlink(self, team_id: str, actor: str, target: str | None) -> LinkChange:
        target = target or actor
        if target != actor and not self.is_admin(actor):
            log.warning("refused: non-admin %s tried to unlink %s", actor, target)
            return LinkChange(LinkOutcome.NOT_ADMIN, target)
        async with self._changing(team_id, target):
            removed = await self._links.delete(team_id, target)
        if removed is None:
            log.info("%s asked to unlink %s, who was not linked", actor, target)
            return LinkChange(LinkOutcome.NOTHING_TO_UNLINK, target)
        log.info("%s unlinked %s (was %s)", actor, target, removed.tencent_userid)
        return LinkChange(LinkOutcome.UNLINKED, target, removed.tencent_userid)

    async def _save(
        self, team_id: str, slack_user_id: str, userid: str, method: LinkMethod, by: str
    ) -> None:
        async with self._changing(team_id, slack_user_id):
            await self._links.save(team_id, slack_user_id, userid, method=method, linked_by=by)

    @contextlib.asynccontextmanager
    async def _changing(self, team_id: str, slack_user_id: str) -> AsyncIterator[None]:
        """Around a write of this link: forgotten before (no read served from memory meanwhile)
        and after, even when the write fails (it may have committed all the same), so that no
        read that overlapped it can keep the old link."""
        key = (team_id, slack_user_id)
        self._links_kept.forget(key)
        try:
            yield
        finally:
            self._links_kept.forget(key)
