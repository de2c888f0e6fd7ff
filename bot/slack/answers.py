"""What the bot answers to each `/replays` command, as Slack messages; shared by the slash command,
mentions and DMs so that every way in behaves the same.

Each answer is a `Reply`: message dicts (`text` + `blocks`) and whether they are fit for a whole
channel to see (a mention answers in its thread only when a look-up found something; refusals and
errors go to the asker alone). Look-ups go through the one core lookup path; identity and
subscription rules live in the core and the store, not here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.core import parsing as p
from bot.core.identity import ADMIN, EMAIL_MATCH, SELF_VERIFIED, LinkChange, LinkOutcome
from bot.core.lookup import problem_for
from bot.core.outcomes import LookupProblem, LookupResult
from bot.i18n import Locale, t
from bot.meeting.errors import TencentMeetingError
from bot.services import Services
from bot.slack.render.messages import (
    describe_ref,
    lookup_ack_text,
    render_invalid,
    render_lookup,
    render_text,
)

log = logging.getLogger(__name__)

Message = dict[str, Any]

#: Slack accepts five messages per response_url; an answer never needs more.
MAX_MESSAGES = 5


@dataclass(frozen=True)
class Caller:
    team_id: str
    user_id: str
    channel_id: str
    locale: Locale


@dataclass(frozen=True)
class Reply:
    """What to send back; `public` when it is a look-up result a whole thread may see."""

    messages: list[Message]
    public: bool = False


class _IdentityUnavailable(Exception):
    """Tencent's directory was needed to know who the caller is, and could not be read."""

    def __init__(self, error: TencentMeetingError) -> None:
        super().__init__(str(error))
        self.error = error


def ack_text(command: p.Command, locale: Locale) -> str | None:
    """The immediate acknowledgement line for a command that needs a Tencent call, else None."""
    if isinstance(command, p.Lookup | p.Refresh):
        return lookup_ack_text(command.refs, locale)
    return None


def _say(key: str, caller: Caller, **params: object) -> list[Message]:
    return [render_text(t(key, caller.locale, **params))]


async def answer(
    command: p.Command, caller: Caller, services: Services, *, shareable: bool
) -> Reply:
    """The reply to one command; look-ups are `public` when at least one meeting was found."""
    try:
        if isinstance(command, p.Lookup | p.Refresh):
            fresh = isinstance(command, p.Refresh)
            return await lookup(command.refs, caller, services, shareable=shareable, fresh=fresh)
        return Reply(await _private_answer(command, caller, services))
    except _IdentityUnavailable as unavailable:
        log.warning("could not tell who %s is: %s", caller.user_id, unavailable.error)
        return Reply(_say("identity_unavailable", caller))


async def _private_answer(command: p.Command, caller: Caller, services: Services) -> list[Message]:
    match command:
        case p.Help():
            return await help_text(caller, services)
        case p.Link(userid=userid, target=target):
            return await link(caller, services, userid, target)
        case p.Unlink(target=target):
            change = await services.identity.unlink(caller.team_id, caller.user_id, target)
            return _link_change(change, caller)
        case p.WhoAmI():
            return await whoami(caller, services)
        case p.Subscribe(code=code):
            return await subscribe(caller, services, code)
        case p.Unsubscribe(code=code):
            return await unsubscribe(caller, services, code)
        case p.Subscriptions():
            return await subscriptions(caller, services)
        case p.DmDigests(enabled=enabled):
            await services.store.set_dm_digests(caller.team_id, caller.user_id, enabled)
            log.info("%s turned digest DMs %s", caller.user_id, "on" if enabled else "off")
            return _say("dm_on_done" if enabled else "dm_off_done", caller)
        case p.Invalid():
            return [render_invalid(command, locale=caller.locale)]
    raise AssertionError(f"unhandled command {command!r}")


async def lookup(
    refs: tuple[p.MeetingRef, ...],
    caller: Caller,
    services: Services,
    *,
    shareable: bool,
    fresh: bool = False,
) -> Reply:
    try:
        userid = await services.identity.resolve(caller.team_id, caller.user_id)
    except TencentMeetingError as error:
        # Who the caller is depends on Tencent's directory, which is down or over quota: say so
        # in the words of a failed look-up rather than "you are not linked".
        log.warning("could not tell who %s is: %s", caller.user_id, error)
        results = [LookupResult(ref=ref, problem=problem_for(error)) for ref in refs[:1]]
        userid = None
    else:
        if userid is None:
            results = [LookupResult(ref=ref, problem=LookupProblem.NOT_LINKED) for ref in refs[:1]]
        else:
            results = await services.lookup.lookup_many(refs, userid, fresh=fresh)
    messages = render_lookup(
        results,
        locale=caller.locale,
        requester=caller.user_id if shareable else None,
        shareable=shareable and userid is not None,
        max_messages=MAX_MESSAGES,
    )
    return Reply(messages, public=any(result.meetings for result in results))


async def help_text(caller: Caller, services: Services) -> list[Message]:
    link = await services.identity.link_of(caller.team_id, caller.user_id)
    if link is None:
        status = t("status_not_linked", caller.locale)
    elif link.method == EMAIL_MATCH:
        status = t("status_linked_by_email", caller.locale, userid=link.tencent_userid)
    else:
        status = t("status_linked", caller.locale, userid=link.tencent_userid)
    return _say("help", caller, status=status)


async def whoami(caller: Caller, services: Services) -> list[Message]:
    link = await services.identity.link_of(caller.team_id, caller.user_id)
    if link is None:
        userid = await _my_userid(caller, services)
        if userid is None:
            return _say("whoami_not_linked", caller)
        return _say("whoami_by_email", caller, userid=userid)
    # How the link was made is what tells a person whether to trust it (or whom to ask).
    if link.method == EMAIL_MATCH:
        return _say("whoami_by_email", caller, userid=link.tencent_userid)
    if link.method == SELF_VERIFIED:
        return _say("whoami_self_verified", caller, userid=link.tencent_userid)
    if link.method == ADMIN:
        admin = f"<@{link.linked_by}>"
        return _say("whoami_admin", caller, userid=link.tencent_userid, admin=admin)
    return _say("whoami_linked", caller, userid=link.tencent_userid)


async def link(
    caller: Caller, services: Services, userid: str, target: str | None
) -> list[Message]:
    identity = services.identity
    if target is None or target == caller.user_id:
        change = await identity.link_self(caller.team_id, caller.user_id, userid)
    else:
        change = await identity.link_other(caller.team_id, caller.user_id, target, userid)
    return _link_change(change, caller)


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


async def _my_userid(caller: Caller, services: Services) -> str | None:
    try:
        return await services.identity.resolve(caller.team_id, caller.user_id)
    except TencentMeetingError as error:
        raise _IdentityUnavailable(error) from None


async def subscribe(caller: Caller, services: Services, code: str | None) -> list[Message]:
    userid = await _my_userid(caller, services)
    if userid is None:
        return _say("lookup_not_linked", caller)
    if code is not None:
        # Only the creator may subscribe to one meeting: Tencent's answer to them is the proof.
        result = await services.lookup.lookup(p.MeetingRef("code", code), userid)
        if result.problem is LookupProblem.NOT_CREATOR:
            return _say("subscribe_refused_not_creator", caller, code=code)
        if result.problem is not None:
            ref = describe_ref(p.MeetingRef("code", code), caller.locale)
            return _say(f"lookup_{result.problem.value}", caller, ref=ref)
    created = await services.store.subscribe(
        caller.team_id, caller.channel_id, userid, code, created_by=caller.user_id
    )
    log.info(
        "%s subscribed %s to %s (%s)", caller.user_id, caller.channel_id, userid, code or "all"
    )
    if code is None:
        return _say("subscribe_done_mine" if created else "subscribe_already_mine", caller)
    return _say("subscribe_done_code" if created else "subscribe_already_code", caller, code=code)


async def unsubscribe(caller: Caller, services: Services, code: str | None) -> list[Message]:
    userid = await _my_userid(caller, services)
    if userid is None:
        return _say("lookup_not_linked", caller)
    removed = await services.store.unsubscribe(caller.team_id, caller.channel_id, userid, code)
    log.info(
        "%s unsubscribed %s from %s (%s)", caller.user_id, caller.channel_id, userid, code or "all"
    )
    if code is None:
        return _say("unsubscribe_done_mine" if removed else "unsubscribe_nothing_mine", caller)
    key = "unsubscribe_done_code" if removed else "unsubscribe_nothing_code"
    return _say(key, caller, code=code)


async def subscriptions(caller: Caller, services: Services) -> list[Message]:
    subs = await services.store.subscriptions_in_channel(caller.team_id, caller.channel_id)
    if not subs:
        return _say("subscriptions_none", caller)
    lines = [t("subscriptions_header", caller.locale)]
    for sub in subs:
        user = f"<@{sub.created_by}>"
        if sub.meeting_code:
            lines.append(
                t("subscriptions_item_code", caller.locale, code=sub.meeting_code, user=user)
            )
        else:
            lines.append(t("subscriptions_item_mine", caller.locale, user=user))
    return [render_text("\n".join(lines))]
