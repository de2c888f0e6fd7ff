"""What the bot answers to each `/replays` command, as Slack messages; shared by the slash command,
mentions and DMs so that every way in behaves the same.

The decisions are the core's (identity, the one lookup path, digest settings); this module only
turns their typed results into messages. Each answer is a `Reply`: message dicts (`text` +
`blocks`) and whether they are fit for a whole channel to see (a mention answers in its thread only
when a look-up found something; refusals and errors go to the asker alone).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.core import audit
from bot.core.identity import Identity, IdentityUnavailable, LinkChange, LinkOutcome
from bot.core.meetings import MeetingRef
from bot.core.outcomes import LookupProblem, LookupResult
from bot.core.parsing import (
    Command,
    DmDigests,
    Help,
    Invalid,
    LinkCommand,
    Lookup,
    Recent,
    Refresh,
    SetVisibility,
    Status,
    Subscribe,
    Subscriptions,
    Unlink,
    Unsubscribe,
    WhoAmI,
)
from bot.core.recent import RecentMeetings
from bot.core.records import Link, LinkMethod, Visibility
from bot.core.status import OpsStatus
from bot.core.storage import StorageUnavailable
from bot.core.subscriptions import (
    DigestSettings,
    SubscriptionChange,
    SubscriptionOutcome,
)
from bot.core.visibility import MeetingAccess
from bot.i18n import t
from bot.slack.caller import Caller
from bot.slack.render.messages import describe_ref, render_invalid, render_lookup, render_text
from bot.slack.render.mrkdwn import escape_mrkdwn
from bot.slack.render.recent import render_recent
from bot.slack.render.status import render_status

log = logging.getLogger(__name__)

Message = dict[str, Any]

#: Slack accepts five messages per response_url; an answer never needs more.
MAX_MESSAGES = 5


@dataclass(frozen=True)
class Reply:
    """What to send back; `public` when it is a look-up result a whole thread may see."""

    messages: list[Message]
    public: bool = False


def _say(key: str, caller: Caller, **params: object) -> list[Message]:
    return [render_text(t(key, caller.locale, **params))]


class Answers:
    def __init__(
        self,
        identity: Identity,
        access: MeetingAccess,
        settings: DigestSettings,
        recent: RecentMeetings,
        *,
        status: OpsStatus | None = None,
    ) -> None:
        self._identity = identity
        self._access = access
        self._settings = settings
        self._status = status
        self._recent = recent

    async def answer(
        self, command: Command, caller: Caller, *, shareable: bool, direct: bool = False
    ) -> Reply:
        """The reply to one command; look-ups are `public` when at least one meeting was found.
        `shareable` answers are ephemeral (the command, the shortcut); `direct`: the caller asks
        in a DM with the bot. Either way the answer is read by the caller alone, which decides
        what a recording's card may show (`bot.slack.render.readers`)."""
        try:
            if isinstance(command, Lookup | Refresh):
                fresh = isinstance(command, Refresh)
                return await self.lookup(
                    command.refs, caller, shareable=shareable, fresh=fresh, direct=direct
                )
            return Reply(await self._private_answer(command, caller))
        except IdentityUnavailable:
            # The one place "Tencent's directory cannot tell who you are" is worded.
            return Reply(_say("identity_unavailable", caller))

    def ready(self, command: Command, caller: Caller, *, shareable: bool) -> Reply | None:
        """The reply `answer` would give, when it is ready without any I/O (a parse error, help
        or whoami of a person whose link is in memory, a look-up answered from memory in one
        message); None when it is not. The slash command sends a ready reply inside its
        acknowledgement."""
        match command:
            case Invalid():
                return Reply([render_invalid(command, locale=caller.locale)])
            case Lookup(refs=refs):
                # Only the ephemeral (shareable) answers come this way: read by the caller alone.
                private = shareable
                results = self._access.ready_many(refs, caller.asker, players=private)
                if results is None:
                    return None
                reply = self._lookup_reply(results, caller, shareable=shareable, private=private)
                if len(reply.messages) != 1:
                    return None  # it does not fit the acknowledgement: `answer` sends it
                self._access.shown(results, caller.asker)
                return reply
            case Help():
                link = self._identity.known_link(caller.team_id, caller.user_id)
                return Reply(_help(caller, link)) if link is not None else None
            case WhoAmI():
                link = self._identity.known_link(caller.team_id, caller.user_id)
                if link is None:
                    return None
                visibility = self._access.known_visibility(caller.team_id, link.tencent_userid)
                if visibility is None:
                    return None
                return Reply(_whoami(caller, link, visibility))
        return None

    async def lookup(
        self,
        refs: tuple[MeetingRef, ...],
        caller: Caller,
        *,
        shareable: bool,
        fresh: bool = False,
        direct: bool = False,
    ) -> Reply:
        """Raises IdentityUnavailable when who the caller is cannot be told now."""
        # A mention's look-up goes to its thread; the rest is read by the caller alone.
        private = shareable or direct
        results = await self._access.lookup_many(refs, caller.asker, fresh=fresh, players=private)
        return self._lookup_reply(results, caller, shareable=shareable, private=private)

    def _lookup_reply(
        self, results: list[LookupResult], caller: Caller, *, shareable: bool, private: bool
    ) -> Reply:
        if all(result.problem is LookupProblem.NOT_LINKED for result in results):
            # One "link yourself first" says it all, however many meetings were named.
            results = results[:1]
        found = any(result.meetings for result in results)
        messages = render_lookup(
            results,
            locale=caller.locale,
            requester=caller.user_id if shareable else None,
            shareable=shareable and found,
            private=private,
            max_messages=MAX_MESSAGES,
        )
        return Reply(messages, public=found)

    async def _private_answer(self, command: Command, caller: Caller) -> list[Message]:
        identity = self._identity
        match command:
            case Help():
                return await self._help(caller)
            case Recent(days=days):
                return await self._recent_list(caller, days)
            case SetVisibility(visibility=visibility):
                return await self._set_visibility(caller, visibility)
            case LinkCommand(userid=userid, target=target):
                if target is None or target == caller.user_id:
                    change = await identity.link_self(caller.team_id, caller.user_id, userid)
                else:
                    change = await identity.link_other(
                        caller.team_id, caller.user_id, target, userid
                    )
                return _link_change(change, caller)
            case Unlink(target=target):
                change = await identity.unlink(caller.team_id, caller.user_id, target)
                return _link_change(change, caller)
            case WhoAmI():
                return await self._whoami(caller)
            case Subscribe(code=code, match=words) | Unsubscribe(code=code, match=words):
                settings = self._settings
                apply = (
                    settings.subscribe if isinstance(command, Subscribe) else settings.unsubscribe
                )
                return _subscription_change(await apply(caller.place, code, words), caller)
            case Subscriptions():
                return await self._subscriptions(caller)
            case DmDigests(enabled=enabled):
                await self._settings.set_dm_digests(caller.team_id, caller.user_id, enabled)
                return _say("dm_on_done" if enabled else "dm_off_done", caller)
            case Status():
                if not identity.is_admin(caller.user_id):
                    return _say("status_refused_not_admin", caller)
                if self._status is None:  # an Answers built without it (tests of other commands)
                    return _say("error_generic", caller)
                return [render_status(await self._status.report(), caller.locale)]
            case Invalid():
                return [render_invalid(command, locale=caller.locale)]
        raise AssertionError(f"unhandled command {command!r}")

    async def _help(self, caller: Caller) -> list[Message]:
        try:
            link = await self._identity.link_of(caller.team_id, caller.user_id)
        except StorageUnavailable:
            # The help needs no database; only the line about the caller's link does.
            return _say("help", caller, status=t("status_storage_unavailable", caller.locale))
        return _help(caller, link)

    async def _recent_list(self, caller: Caller, days: int) -> list[Message]:
        userid = await self._identity.resolve(caller.team_id, caller.user_id)
        if userid is None:
            # Nothing to list yet: how to start (link) is what the help says.
            return await self._help(caller)
        recent = await self._recent.recent(userid, days)
        audit.write(audit.recent_fields(caller.team_id, caller.user_id, recent))
        return render_recent(recent, locale=caller.locale)

    async def _set_visibility(self, caller: Caller, visibility: Visibility) -> list[Message]:
        userid = await self._access.set_visibility(caller.team_id, caller.user_id, visibility)
        if userid is None:
            return _say("lookup_not_linked", caller)
        return _say(f"visibility_done_{visibility.value}", caller)

    async def _whoami(self, caller: Caller) -> list[Message]:
        link = await self._identity.link_of(caller.team_id, caller.user_id)
        if link is not None:
            visibility = await self._access.visibility_of(caller.team_id, link.tencent_userid)
            return _whoami(caller, link, visibility)
        userid = await self._identity.resolve(caller.team_id, caller.user_id)
        if userid is None:
            return _say("whoami_not_linked", caller)
        visibility = await self._access.visibility_of(caller.team_id, userid)
        return _whoami_status(caller, "whoami_by_email", {"userid": userid}, visibility)

    async def _subscriptions(self, caller: Caller) -> list[Message]:
        subs = await self._settings.in_channel(caller.place)
        if not subs:
            return _say("subscriptions_none", caller)
        lines = [t("subscriptions_header", caller.locale)]
        for sub in subs:
            user = f"<@{sub.created_by}>"
            if sub.meeting_code:
                lines.append(
                    t("subscriptions_item_code", caller.locale, code=sub.meeting_code, user=user)
                )
            elif sub.subject_match:
                words = escape_mrkdwn(sub.subject_match)
                lines.append(t("subscriptions_item_match", caller.locale, words=words, user=user))
            else:
                lines.append(t("subscriptions_item_mine", caller.locale, user=user))
        return [render_text("\n".join(lines))]


def _help(caller: Caller, link: Link | None) -> list[Message]:
    if link is None:
        status = t("status_not_linked", caller.locale)
    elif link.method is LinkMethod.EMAIL_MATCH:
        status = t("status_linked_by_email", caller.locale, userid=link.tencent_userid)
    else:
        status = t("status_linked", caller.locale, userid=link.tencent_userid)
    return _say("help", caller, status=status)


#: how a link was made is what tells a person whether to trust it (or whom to ask)
_WHOAMI_KEYS: dict[LinkMethod, str] = {
    LinkMethod.EMAIL_MATCH: "whoami_by_email",
    LinkMethod.SELF_VERIFIED: "whoami_self_verified",
    LinkMethod.ADMIN: "whoami_admin",
}


def _whoami(caller: Caller, link: Link, visibility: Visibility) -> list[Message]:
    params = {"userid": link.tencent_userid, "admin": f"<@{link.linked_by}>"}
    return _whoami_status(caller, _WHOAMI_KEYS[link.method], params, visibility)


def _whoami_status(
    caller: Caller, key: str, params: dict[str, str], visibility: Visibility
) -> list[Message]:
    status = t(f"visibility_status_{visibility.value}", caller.locale)
    return [render_text(t(key, caller.locale, **params) + "\n" + status)]


_LINK_KEYS: dict[LinkOutcome, tuple[str, str]] = {
    # outcome: (message when the caller acted on themselves, message when on someone else)
    LinkOutcome.LINKED: ("link_done_self", "link_done_other"),
    LinkOutcome.UNLINKED: ("unlink_done_self", "unlink_done_other"),
    LinkOutcome.NOTHING_TO_UNLINK: ("unlink_nothing_self", "unlink_nothing_other"),
    LinkOutcome.NOT_ADMIN: ("link_refused_not_admin", "link_refused_not_admin"),
    LinkOutcome.EMAIL_MISMATCH: ("link_refused_email_mismatch",) * 2,
    LinkOutcome.NO_SLACK_EMAIL: ("link_refused_no_slack_email",) * 2,
    LinkOutcome.CANNOT_VERIFY: ("link_refused_not_configured",) * 2,
    LinkOutcome.UNKNOWN_USERID: ("link_refused_unknown_userid",) * 2,
    LinkOutcome.TAKEN: ("link_refused_taken",) * 2,
    LinkOutcome.TENCENT_PROBLEM: ("link_refused_tencent_problem",) * 2,
}


def _link_change(change: LinkChange, caller: Caller) -> list[Message]:
    own, other = _LINK_KEYS[change.outcome]
    key = own if change.target == caller.user_id else other
    return _say(key, caller, userid=change.userid or "", user=f"<@{change.target}>")


#: outcome: (message for "all my meetings", for one code, for a subject filter)
_SUBSCRIPTION_KEYS: dict[SubscriptionOutcome, tuple[str, str, str]] = {
    SubscriptionOutcome.SUBSCRIBED: (
        "subscribe_done_mine",
        "subscribe_done_code",
        "subscribe_done_match",
    ),
    SubscriptionOutcome.ALREADY_SUBSCRIBED: (
        "subscribe_already_mine",
        "subscribe_already_code",
        "subscribe_already_match",
    ),
    SubscriptionOutcome.UNSUBSCRIBED: (
        "unsubscribe_done_mine",
        "unsubscribe_done_code",
        "unsubscribe_done_match",
    ),
    SubscriptionOutcome.NOT_SUBSCRIBED: (
        "unsubscribe_nothing_mine",
        "unsubscribe_nothing_code",
        "unsubscribe_nothing_match",
    ),
    SubscriptionOutcome.NOT_LINKED: ("lookup_not_linked",) * 3,
    SubscriptionOutcome.NOT_CREATOR: ("subscribe_refused_not_creator",) * 3,
}


def _subscription_change(change: SubscriptionChange, caller: Caller) -> list[Message]:
    code = change.code
    if change.outcome is SubscriptionOutcome.LOOKUP_FAILED:
        assert change.problem is not None
        ref = describe_ref(MeetingRef("code", code or ""), caller.locale)
        return _say(f"lookup_{change.problem.value}", caller, ref=ref)
    mine, one_code, matching = _SUBSCRIPTION_KEYS[change.outcome]
    if code is not None:
        return _say(one_code, caller, code=code)
    if change.match:
        return _say(matching, caller, words=escape_mrkdwn(change.match))
    return _say(mine, caller)
