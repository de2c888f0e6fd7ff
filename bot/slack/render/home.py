"""A person's App Home as a Block Kit `home` view, within Slack's 100 blocks whatever the data.

Top to bottom: the link status (and how to link), who may see their meetings' replays, the DM
digest switch, their recent meetings with replays (compact cards, with a Refresh button) and the
subscriptions they made, each with an Unsubscribe button. Each part has a fixed share of the
blocks; what does not fit is counted, never silently dropped.
"""

from __future__ import annotations

import json
from typing import Any

from bot.core.home import HomeState
from bot.core.records import LinkMethod, Subscription
from bot.i18n import Locale, t
from bot.slack.ids import HOME_DM_ACTION_ID, HOME_REFRESH_ACTION_ID, HOME_UNSUBSCRIBE_ACTION_PREFIX
from bot.slack.render.block_kit import (
    DIVIDER,
    BlockDict,
    action_button,
    actions,
    context,
    header,
    section,
)
from bot.slack.render.recent import recent_blocks

#: Slack's limit on the blocks of a view
MAX_VIEW_BLOCKS = 100
#: blocks the recent list may take (header, 10 compact cards of up to two blocks, notes)
RECENT_ROOM = 26


def unsubscribe_value(subscription: Subscription) -> str:
    return json.dumps({"c": subscription.channel_id, "m": subscription.meeting_code or ""})


def parse_unsubscribe_value(value: str) -> tuple[str, str | None] | None:
    """(channel, code or None) from an Unsubscribe button; None when it is not one of ours."""
    try:
        data = json.loads(value)
        channel, code = str(data["c"]), str(data["m"])
    except (ValueError, KeyError, TypeError):
        return None
    return (channel, code or None) if channel else None


def _status(state: HomeState, locale: Locale) -> str:
    if state.userid is None:
        return t("status_not_linked", locale)
    if state.link is None or state.link.method is LinkMethod.EMAIL_MATCH:
        return t("status_linked_by_email", locale, userid=state.userid)
    return t("status_linked", locale, userid=state.userid)


def _subscription_what(subscription: Subscription, locale: Locale) -> str:
    """A subscription in a button's spoken label (plain text: no channel mention)."""
    if subscription.meeting_code:
        return t("home_subscription_what_code", locale, code=subscription.meeting_code)
    return t("home_subscription_what_mine", locale)


def _subscription_line(subscription: Subscription, locale: Locale) -> str:
    channel = f"<#{subscription.channel_id}>"
    if subscription.meeting_code:
        return t("home_subscription_code", locale, channel=channel, code=subscription.meeting_code)
    return t("home_subscription_mine", locale, channel=channel)


def render_home(state: HomeState, locale: Locale) -> dict[str, Any]:
    blocks: list[BlockDict] = [header(t("home_title", locale)), section(_status(state, locale))]
    if state.userid is not None:
        blocks.append(context(t(f"visibility_status_{state.visibility.value}", locale)))
    dm_key = "home_dm_on" if state.dm_digests else "home_dm_off"
    turn = "home_dm_turn_off" if state.dm_digests else "home_dm_turn_on"
    switch = action_button(
        t(turn, locale),
        action_id=HOME_DM_ACTION_ID,
        value="off" if state.dm_digests else "on",
        accessibility_label=t(f"{turn}_label", locale),
    )
    blocks.append(section(t(dm_key, locale), switch))
    if state.recent is not None:
        blocks.append(DIVIDER)
        blocks += recent_blocks(state.recent, locale, room=RECENT_ROOM - 1)
        refresh = action_button(
            t("home_refresh", locale),
            action_id=HOME_REFRESH_ACTION_ID,
            value="refresh",
            accessibility_label=t("home_refresh_label", locale),
        )
        blocks.append(actions([refresh]))
    blocks.append(DIVIDER)
    subscriptions = state.subscriptions
    if not subscriptions:
        blocks.append(section(t("home_no_subscriptions", locale)))
    else:
        blocks.append(section(t("home_subscriptions", locale, count=len(subscriptions))))
        room = MAX_VIEW_BLOCKS - len(blocks) - 1  # one for "and n more"
        shown = subscriptions[:room] if len(subscriptions) > room else subscriptions
        for number, subscription in enumerate(shown, 1):
            what = _subscription_what(subscription, locale)
            unsubscribe = action_button(
                t("home_unsubscribe", locale),
                action_id=f"{HOME_UNSUBSCRIBE_ACTION_PREFIX}_{len(blocks)}",
                value=unsubscribe_value(subscription),
                accessibility_label=t("home_unsubscribe_label", locale, n=number, what=what),
                style="danger",
            )
            blocks.append(section(_subscription_line(subscription, locale), unsubscribe))
        if len(shown) < len(subscriptions):
            more = len(subscriptions) - len(shown)
            blocks.append(context(t("home_more_subscriptions", locale, count=more)))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}
