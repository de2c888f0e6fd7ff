"""Every sentence the bot shows people, in English and Simplified Chinese.

Messages are Slack mrkdwn templates filled with `str.format`: a literal `<`, `>` or `&` is written
`&lt;`, `&gt;`, `&amp;`, and values that come from outside (subjects, codes typed by people) must be
escaped by the caller before they are passed in (`bot.slack.render.mrkdwn.escape_mrkdwn`). Keys are flat
and named after what they say; `lookup_<problem>` and `invalid_<problem>` follow the values of
`LookupProblem` and `Problem`. Unknown keys raise `KeyError`, and a test checks that both languages
have the same keys with the same placeholders.

Slack only formats `*bold*` and `` `code` `` whose markers have a boundary outside them (a space,
ASCII punctuation, a line's start or end); a CJK character or full-width punctuation is none. In
the Chinese texts a marker next to one is therefore separated by a space, or by a zero-width
space (`\u200b`) before full-width punctuation, which spaces itself; a test checks every text.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

Locale = Literal["en", "zh"]
LOCALES: tuple[Locale, ...] = ("en", "zh")

_HELP_EN = """\
*Find the live-stream replays of your Tencent Meeting meetings*
{status}

• `/replays 295 150 176`: the replays of a meeting, by its meeting code (9-12 digits), its meeting \
ID (19-20 digits), a `meeting.tencent.com/p/…` link or a whole pasted invitation. Several at once \
are fine.
• `/replays refresh 295150176`: look again now instead of using the answer from a minute ago.
• `/replays link &lt;your Tencent Meeting userid&gt;`: link your Slack account to your Tencent \
Meeting account (allowed when both have the same email address).
• `/replays whoami` · `/replays unlink`: show or remove your link.
• `/replays subscribe [code]` · `/replays unsubscribe [code]` · `/replays subscriptions`: post the \
replays of your meetings (or of one meeting code) in this channel once they are ready; \
`/replays subscribe match &lt;words&gt;`: only those whose subject contains the words.
• `/replays dm off` · `/replays dm on`: stop or resume the direct messages about your own \
meetings' replays.
• Admins: `/replays link @someone &lt;userid&gt;` · `/replays unlink @someone`.

Mention me with a code in a thread (`@replays 295150176`) and I answer in that thread. Tencent \
Meeting only shows a meeting's replays to the person who created it."""

_HELP_ZH = """\
*查找腾讯会议的直播回看*
{status}

• `/replays 295 150 176`\u200b：查询一个会议的直播回看。可以用会议号（9-12 位数字）、\
会议 ID（19-20 位数字）、\u200b`meeting.tencent.com/p/…` 链接，或直接粘贴整段会议邀请。\
一次可以查多个会议。
• `/replays refresh 295150176`\u200b：不用缓存，立即重新查询。
• `/replays link &lt;你的腾讯会议 userid&gt;`\u200b：把你的 Slack 账号绑定到你的腾讯会议账号\
（两边的邮箱必须相同）。
• `/replays whoami` · `/replays unlink`\u200b：查看或解除你的绑定。
• `/replays subscribe [会议号]` · `/replays unsubscribe [会议号]` · `/replays subscriptions`\u200b：\
回看生成后，把你的会议（或某个会议号）的回看发到本频道；\
\u200b`/replays subscribe match &lt;词&gt;`\u200b（\u200b`订阅 匹配 &lt;词&gt;`\u200b）：只发主题包含这些词的会议。
• `/replays dm off` · `/replays dm on`\u200b：停止或恢复关于你自己会议回看的私信。
• 管理员：\u200b`/replays link @某人 &lt;userid&gt;` · `/replays unlink @某人`\u200b。

在话题中 @我 并附上会议号（\u200b`@replays 295150176`\u200b），我会在该话题里回复。\
腾讯会议只向会议的创建者展示会议的回看。"""

_LINK_HOW_EN = (
    "Link it with `/replays link &lt;your Tencent Meeting userid&gt;`, "
    "or ask a bot admin to link you."
)
_LINK_HOW_ZH = "请用 `/replays link &lt;你的腾讯会议 userid&gt;` 绑定，或请机器人管理员为你绑定。"

# key -> (English, Chinese)
_TEMPLATES: dict[str, tuple[str, str]] = {
    # --- acknowledgements and usage
    "ack_lookup_one": ("Looking up the replays of {ref}…", "正在查询{ref} 的直播回看…"),
    "ack_lookup_many": (
        "Looking up replays for {count} meetings…",
        "正在查询 {count} 个会议的直播回看…",
    ),
    "help": (_HELP_EN, _HELP_ZH),
    "status_linked": (
        "You are linked to Tencent Meeting user `{userid}`.",
        "你已绑定腾讯会议用户 `{userid}`\u200b。",
    ),
    "status_linked_by_email": (
        "You are Tencent Meeting user `{userid}` (found by your email address).",
        "你是腾讯会议用户 `{userid}`\u200b（通过你的邮箱匹配）。",
    ),
    "status_not_linked": (
        "Your Slack account is not linked to a Tencent Meeting account yet. " + _LINK_HOW_EN,
        "你的 Slack 账号尚未绑定腾讯会议账号。" + _LINK_HOW_ZH,
    ),
    "error_generic": (
        "Something went wrong on my side. Please try again in a minute.",
        "我这边出了点问题，请稍后再试。",
    ),
    "overloaded": (
        "I'm answering a lot of requests right now and couldn't take yours. "
        "Please try again in a minute.",
        "我现在正在处理大量请求，暂时无法处理你的请求。请一分钟后再试。",
    ),
    # --- how a meeting reference is named in sentences
    "ref_code": ("meeting {code}", "会议 {code}"),
    "ref_id": ("meeting ID {meeting_id}", "会议 ID {meeting_id}"),
    # --- look-up problems (one per LookupProblem)
    "lookup_not_linked": (
        "I don't know your Tencent Meeting account, so I can't look up replays for you. "
        + _LINK_HOW_EN,
        "我不知道你的腾讯会议账号，所以无法为你查询回看。" + _LINK_HOW_ZH,
    ),
    "lookup_not_creator": (
        "Only the creator of {ref} can see its replays, and that isn't you. "
        "Ask the creator to run `/replays` or to share the replays with you.",
        "只有{ref} 的创建者才能查看它的回看，而你不是创建者。"
        "请让创建者运行 `/replays`\u200b，或请他把回看分享给你。",
    ),
    "lookup_not_found": (
        "Tencent Meeting has no {ref}. Check the code. Codes are reused 30 days after a meeting's "
        "scheduled start: for older meetings use the 19-20 digit meeting ID.",
        "腾讯会议找不到{ref}。请检查会议号。会议号在会议预定开始 30 天后会被回收再用："
        "较早的会议请使用 19-20 位的会议 ID。",
    ),
    "lookup_user_not_registered": (
        "Tencent Meeting doesn't know the userid your Slack account is linked to, so it can't show "
        "the replays of {ref}. "
        "Link again with `/replays link &lt;your Tencent Meeting userid&gt;`.",
        "腾讯会议不认识你绑定的 userid，因此无法查看{ref} 的回看。"
        "请用 `/replays link &lt;你的腾讯会议 userid&gt;` 重新绑定。",
    ),
    "lookup_busy": (
        "Tencent Meeting's request quota is used up right now, so I couldn't look up {ref}. "
        "Try again in a minute.",
        "腾讯会议的接口调用额度暂时用完了，未能查询{ref}。请一分钟后再试。",
    ),
    "lookup_unavailable": (
        "Tencent Meeting isn't answering, so I couldn't look up {ref}. Try again shortly.",
        "腾讯会议暂时没有响应，未能查询{ref}。请稍后再试。",
    ),
    "lookup_misconfigured": (
        "Tencent Meeting rejects this app's credentials, so I couldn't look up {ref}. "
        "An admin must check the app's Tencent Meeting settings; "
        "the details are in the app's logs.",
        "腾讯会议拒绝了本应用的凭据，未能查询{ref}。需要管理员检查应用的腾讯会议配置，详细信息已写入应用日志。",
    ),
    "lookup_malformed": (
        "Tencent Meeting sent an answer about {ref} that I can't read. Try again later; "
        "if it keeps happening, tell a bot admin.",
        "腾讯会议返回了关于{ref} 的无法识别的结果。请稍后再试；如果一直如此，请告诉机器人管理员。",
    ),
    "lookup_no_meeting": (
        "Tencent Meeting has no live replays for {ref}. Replays can take a while to appear after a "
        "live stream ends: try again later, or `/replays subscribe` to get them here when ready.",
        "腾讯会议中{ref} 还没有直播回看。直播结束后回看需要一段时间才会生成："
        "请稍后再试，或使用 `/replays subscribe` 在回看生成后收到通知。",
    ),
    "no_replays": (
        "No live replays yet. Replays can take a while to appear after a live stream ends: "
        "try again later, or `/replays subscribe` to get them here when ready.",
        "还没有直播回看。直播结束后回看需要一段时间才会生成："
        "请稍后再试，或使用 `/replays subscribe` 在回看生成后收到通知。",
    ),
    # --- text that could not be understood (one per parsing.Problem)
    "invalid_no_meeting_found": (
        "I couldn't find a meeting code in that. Send a meeting code (9-12 digits, e.g. "
        "`/replays 295 150 176`), a meeting ID (19-20 digits) or paste the whole invitation. "
        "`/replays help` shows everything I understand.",
        "没有找到会议号。请发送会议号（9-12 位数字，例如 `/replays 295 150 176`\u200b）、"
        "会议 ID（19-20 位数字），或粘贴整段会议邀请。\u200b`/replays help` 可查看全部用法。",
    ),
    "invalid_join_link_only": (
        "That is a join link (`meeting.tencent.com/dm/…`): it doesn't contain the meeting code. "
        "Send the code shown next to it (`#Tencent Meeting: 295-150-176`) "
        "or paste the whole invitation.",
        "这是入会链接（\u200b`meeting.tencent.com/dm/…`\u200b），其中不含会议号。"
        "请发送旁边显示的会议号（\u200b`#腾讯会议：295-150-176`\u200b），或粘贴整段会议邀请。",
    ),
    "invalid_live_link_only": (
        "That is a live-stream or replay page link (`meeting.tencent.com/l/…`): it doesn't contain "
        "the meeting code. Send the meeting code or the meeting ID instead.",
        "这是直播或回看页面链接（\u200b`meeting.tencent.com/l/…`\u200b），其中不含会议号。"
        "请改为发送会议号或会议 ID。",
    ),
    "invalid_bad_userid": (
        "`{detail}` can't be a Tencent Meeting userid: userids here are made of letters, "
        "digits and `. _ ~ -` only. Use `/replays link &lt;your Tencent Meeting userid&gt;`.",
        "`{detail}` 不是有效的腾讯会议 userid：userid 只能包含字母、数字和 `. _ ~ -`\u200b。"
        "请使用 `/replays link &lt;你的腾讯会议 userid&gt;`\u200b。",
    ),
    "invalid_missing_userid": (
        "Which Tencent Meeting userid? Use `/replays link &lt;your Tencent Meeting userid&gt;` "
        "(admins: `/replays link @someone &lt;userid&gt;`).",
        "请提供腾讯会议 userid：\u200b`/replays link &lt;你的腾讯会议 userid&gt;`\u200b"
        "（管理员：\u200b`/replays link @某人 &lt;userid&gt;`\u200b）。",
    ),
    "invalid_bad_mention": (
        "`{detail}` isn't a Slack user. Pick the person from the @ menu so that Slack turns it "
        "into a mention, e.g. `/replays unlink @someone`.",
        "`{detail}` 不是 Slack 用户。请从 @ 菜单中选择此人，让 Slack 生成提及，"
        "例如 `/replays unlink @某人`\u200b。",
    ),
    "invalid_bad_code": (
        "`{detail}` isn't a meeting code: codes have 9-12 digits, e.g. `295 150 176`.",
        "`{detail}` 不是会议号：会议号是 9-12 位数字，例如 `295 150 176`\u200b。",
    ),
    "invalid_missing_code": (
        "Which meeting? Add its code, e.g. `/replays refresh 295150176`.",
        "哪个会议？请加上会议号，例如 `/replays refresh 295150176`\u200b。",
    ),
    "invalid_too_many": (
        "That's {detail} meetings; I look up at most {max} at once. Please split them up.",
        "这里有 {detail} 个会议；我一次最多查询 {max} 个。请分几次查询。",
    ),
    "invalid_extra_arguments": (
        "I didn't expect `{detail}` there. `/replays help` shows how each command is written.",
        "这里不需要 `{detail}`\u200b。\u200b`/replays help` 可查看每个命令的写法。",
    ),
    "invalid_bad_dm_setting": (
        "Use `/replays dm off` to stop the direct messages about your meetings' replays, "
        "or `/replays dm on` to resume them.",
        "使用 `/replays dm off` 停止关于你会议回看的私信，或 `/replays dm on` 恢复。",
    ),
    "invalid_missing_match_words": (
        "Which words must the subject contain? E.g. `/replays subscribe match weekly sync`.",
        "会议主题需要包含哪些词？例如 `/replays subscribe match 周会`\u200b。",
    ),
    "invalid_unknown_command": (
        "I don't know the command `{detail}`. `/replays help` lists what I understand.",
        "我不认识命令 `{detail}`\u200b。\u200b`/replays help` 列出了我能理解的内容。",
    ),
    # --- linking
    "link_done_self": (
        "Done: your Slack account is now linked to Tencent Meeting user `{userid}`.",
        "完成：你的 Slack 账号已绑定腾讯会议用户 `{userid}`\u200b。",
    ),
    "link_done_other": (
        "Done: {user} is now linked to Tencent Meeting user `{userid}`.",
        "完成：{user} 已绑定腾讯会议用户 `{userid}`\u200b。",
    ),
    "link_refused_email_mismatch": (
        "I can't link you to `{userid}`: that Tencent Meeting account's email address isn't the "
        "one on your Slack profile. Check the userid, or ask a bot admin to link you.",
        "无法将你绑定到 `{userid}`\u200b：该腾讯会议账号的邮箱与你 Slack 资料中的邮箱不同。"
        "请检查 userid，或请机器人管理员为你绑定。",
    ),
    "link_refused_no_slack_email": (
        "I can't verify that `{userid}` is you: your Slack profile has no email address I can "
        "read. "
        "Ask a bot admin to link you.",
        "无法确认 `{userid}` 是你本人：读取不到你 Slack 资料中的邮箱。请机器人管理员为你绑定。",
    ),
    "link_refused_not_configured": (
        "I can't verify self-links yet: this app has no Tencent Meeting admin account set up to "
        "check emails. Ask a bot admin to link you.",
        "暂时无法验证自助绑定：本应用尚未配置用于核对邮箱的腾讯会议管理员账号。请机器人管理员为你绑定。",
    ),
    "link_refused_unknown_userid": (
        "Tencent Meeting has no user `{userid}`. Check the userid (it is in your Tencent Meeting "
        "profile, or ask your Tencent Meeting admin).",
        "腾讯会议中没有用户 `{userid}`\u200b。请检查 userid"
        "（可在腾讯会议个人资料中找到，或询问你的腾讯会议管理员）。",
    ),
    "link_refused_taken": (
        "Tencent Meeting user `{userid}` is already linked to another Slack account. "
        "Ask a bot admin if that is wrong.",
        "腾讯会议用户 `{userid}` 已绑定到另一个 Slack 账号。如有错误，请联系机器人管理员。",
    ),
    "link_refused_tencent_problem": (
        "I couldn't check `{userid}` with Tencent Meeting just now (it isn't answering or is busy). "
        "Try again in a minute.",
        "暂时无法向腾讯会议核实 `{userid}`\u200b（腾讯会议没有响应或繁忙）。请一分钟后再试。",
    ),
    "link_refused_not_admin": (
        "Only bot admins can link or unlink other people. You can link yourself with "
        "`/replays link &lt;your Tencent Meeting userid&gt;`.",
        "只有机器人管理员可以为他人绑定或解绑。"
        "你可以用 `/replays link &lt;你的腾讯会议 userid&gt;` 绑定自己。",
    ),
    "unlink_done_self": (
        "Done: your Slack account is no longer linked to Tencent Meeting.",
        "完成：你的 Slack 账号已解除与腾讯会议的绑定。",
    ),
    "unlink_done_other": (
        "Done: {user} is no longer linked to Tencent Meeting.",
        "完成：{user} 已解除与腾讯会议的绑定。",
    ),
    "unlink_nothing_self": (
        "Your Slack account wasn't linked to Tencent Meeting; nothing changed.",
        "你的 Slack 账号本来就没有绑定腾讯会议，未做任何更改。",
    ),
    "unlink_nothing_other": (
        "{user} wasn't linked to Tencent Meeting; nothing changed.",
        "{user} 本来就没有绑定腾讯会议，未做任何更改。",
    ),
    "whoami_linked": (
        "You are linked to Tencent Meeting user `{userid}`. `/replays unlink` removes the link.",
        "你已绑定腾讯会议用户 `{userid}`\u200b。\u200b`/replays unlink` 可解除绑定。",
    ),
    "whoami_self_verified": (
        "You are linked to Tencent Meeting user `{userid}`: you linked yourself, and its email "
        "address matched your Slack profile's. `/replays unlink` removes the link.",
        "你已绑定腾讯会议用户 `{userid}`\u200b：由你自己绑定，且该账号邮箱与你的 Slack 邮箱一致。"
        "\u200b`/replays unlink` 可解除绑定。",
    ),
    "whoami_admin": (
        "You are linked to Tencent Meeting user `{userid}`: bot admin {admin} linked you. "
        "`/replays unlink` removes the link.",
        "你已绑定腾讯会议用户 `{userid}`\u200b：由机器人管理员 {admin} 为你绑定。"
        "\u200b`/replays unlink` 可解除绑定。",
    ),
    "identity_unavailable": (
        "I couldn't look up your Tencent Meeting account just now (Tencent Meeting isn't "
        "answering or is busy). Try again in a minute.",
        "暂时无法查询你的腾讯会议账号（腾讯会议没有响应或繁忙）。请一分钟后再试。",
    ),
    "whoami_by_email": (
        "You are Tencent Meeting user `{userid}`: I found you by your email address.",
        "你是腾讯会议用户 `{userid}`\u200b：通过你的邮箱匹配到。",
    ),
    "whoami_not_linked": (
        "I don't know your Tencent Meeting account. " + _LINK_HOW_EN,
        "我不知道你的腾讯会议账号。" + _LINK_HOW_ZH,
    ),
    # --- subscriptions and DMs
    "subscribe_done_mine": (
        "Done: when your meetings end, their replays will be posted in this channel.",
        "完成：你的会议结束后，回看将发布到本频道。",
    ),
    "subscribe_done_code": (
        "Done: when meeting {code} ends, its replays will be posted in this channel.",
        "完成：会议 {code} 结束后，回看将发布到本频道。",
    ),
    "subscribe_already_mine": (
        "This channel already gets the replays of your meetings.",
        "本频道已经会收到你的会议回看。",
    ),
    "subscribe_already_code": (
        "This channel already gets the replays of meeting {code}.",
        "本频道已经会收到会议 {code} 的回看。",
    ),
    "subscribe_done_match": (
        "Done: when your meetings whose subject contains “{words}” end, their replays will be "
        "posted in this channel.",
        "完成：主题包含“{words}”的你的会议结束后，回看将发布到本频道。",
    ),
    "subscribe_already_match": (
        "This channel already gets the replays of your meetings whose subject contains “{words}”.",
        "本频道已经会收到主题包含“{words}”的你的会议回看。",
    ),
    "unsubscribe_done_match": (
        "Done: the replays of your meetings whose subject contains “{words}” won't be posted in "
        "this channel any more.",
        "完成：主题包含“{words}”的你的会议回看将不再发布到本频道。",
    ),
    "unsubscribe_nothing_match": (
        "This channel wasn't subscribed to your meetings whose subject contains “{words}”; "
        "nothing changed.",
        "本频道本来就没有订阅主题包含“{words}”的你的会议，未做任何更改。",
    ),
    "subscribe_refused_not_creator": (
        "You didn't create meeting {code}, so I can't subscribe you to it: Tencent Meeting only "
        "shows replays to a meeting's creator. Ask the creator to run "
        "`/replays subscribe {code}` here.",
        "会议 {code} 不是你创建的，因此无法为你订阅：腾讯会议只向会议创建者展示回看。"
        "请让创建者在这里运行 `/replays subscribe {code}`\u200b。",
    ),
    "unsubscribe_done_mine": (
        "Done: the replays of your meetings won't be posted in this channel any more.",
        "完成：你的会议回看将不再发布到本频道。",
    ),
    "unsubscribe_done_code": (
        "Done: the replays of meeting {code} won't be posted in this channel any more.",
        "完成：会议 {code} 的回看将不再发布到本频道。",
    ),
    "unsubscribe_nothing_mine": (
        "This channel wasn't subscribed to your meetings; nothing changed.",
        "本频道本来就没有订阅你的会议，未做任何更改。",
    ),
    "unsubscribe_nothing_code": (
        "This channel wasn't subscribed to meeting {code}; nothing changed.",
        "本频道本来就没有订阅会议 {code}，未做任何更改。",
    ),
    "subscriptions_none": (
        "This channel has no replay subscriptions. "
        "`/replays subscribe` adds one for your meetings.",
        "本频道没有回看订阅。\u200b`/replays subscribe` 可订阅你的会议。",
    ),
    "subscriptions_header": (
        "Replays posted in this channel:",
        "本频道会发布以下回看：",
    ),
    "subscriptions_item_mine": ("• all meetings of {user}", "• {user} 的所有会议"),
    "subscriptions_item_match": (
        "• meetings of {user} whose subject contains “{words}”",
        "• {user} 的主题包含“{words}”的会议",
    ),
    "subscriptions_item_code": ("• meeting {code} (by {user})", "• 会议 {code}（{user} 订阅）"),
    "dm_off_done": (
        "Done: I won't send you direct messages about your meetings' replays. "
        "`/replays dm on` turns them back on.",
        "完成：我不会再私信你会议回看。\u200b`/replays dm on` 可重新开启。",
    ),
    "dm_on_done": (
        "Done: I'll send you a direct message when the replays of your meetings are ready.",
        "完成：你的会议回看生成后，我会私信通知你。",
    ),
    # --- the caller's recent meetings (`/replays`, `/replays recent [days]`, App Home)
    "ack_recent": (
        "Looking at your meetings of the last {days} days…",
        "正在查看你最近 {days} 天的会议…",
    ),
    "recent_header": (
        "*Your meetings with replays, last {days} days*",
        "*你最近 {days} 天有回看的会议*",
    ),
    "recent_looked_at": (
        "{ended} meetings ended in the last {days} days; {shown} of yours have replays "
        "(meetings you only attended, and those without replays, are left out).",
        "最近 {days} 天结束了 {ended} 个会议；其中你创建且有回看的有 {shown} 个"
        "（你只是参加的会议和没有回看的会议不列出）。",
    ),
    "recent_ended": ("ended {when}", "结束于 {when}"),
    "recent_more_replays": (
        "{count} more not shown here: `/replays {code}` lists them all",
        "另有 {count} 个未在此显示：\u200b`/replays {code}` 可查看全部",
    ),
    "recent_more": (
        "…and {count} more meetings of this window that I didn't look at: {meetings}. "
        "Look one up with `/replays &lt;code&gt;`.",
        "……本时间段还有 {count} 个会议没有查看：{meetings}。可用 `/replays &lt;会议号&gt;` 查询。",
    ),
    "recent_incomplete": (
        "Tencent Meeting couldn't tell me about some of your meetings just now (its request "
        "quota is used up or it isn't answering). Try again in a minute.",
        "腾讯会议暂时无法提供你部分会议的信息（接口额度用完或没有响应）。请一分钟后再试。",
    ),
    "recent_busy": (
        "Tencent Meeting's request quota is used up right now, so I can't list your recent "
        "meetings. Try again in a minute.",
        "腾讯会议的接口调用额度暂时用完了，无法列出你最近的会议。请一分钟后再试。",
    ),
    "recent_failed": (
        "I couldn't read your recent meetings from Tencent Meeting just now. Try again in a "
        "minute, or look a meeting up by its code: `/replays &lt;code&gt;`.",
        "暂时无法从腾讯会议读取你最近的会议。请一分钟后再试，或用会议号查询：\u200b`/replays &lt;会议号&gt;`\u200b。",
    ),
    "recent_hint": (
        "`/replays &lt;code&gt;` looks up any meeting · `/replays recent 30` looks further back "
        "(up to 90 days) · `/replays help` shows everything.",
        "`/replays &lt;会议号&gt;` 查询任意会议 · `/replays recent 30` 查看更早的会议"
        "（最多 90 天）· `/replays help` 查看全部用法。",
    ),
    "invalid_bad_days": (
        "`{detail}` isn't a number of days: use `/replays recent` (7 days) or "
        "`/replays recent 30` (1 to 90).",
        "`{detail}` 不是有效的天数：请使用 `/replays recent`\u200b（7 天）或 `/replays recent 30`\u200b（1 到 90）。",
    ),
    # --- who may see a creator's replays
    "invalid_bad_visibility": (
        "Use `/replays visibility me` (only you can look up your meetings' replays) or "
        "`/replays visibility workspace` (any full member of this workspace can).",
        "使用 `/replays visibility me`\u200b（只有你能查询你会议的回看）或 "
        "`/replays visibility workspace`\u200b（本工作区的任何正式成员都可以）。",
    ),
    "visibility_done_me": (
        "Done: only you can look up the replays of the meetings you create.",
        "完成：只有你能查询你创建的会议的回看。",
    ),
    "visibility_done_workspace": (
        "Done: any full member of this workspace (not guests) can now look up the replays of "
        "the meetings you create. `/replays visibility me` takes it back at once.",
        "完成：本工作区的任何正式成员（不含访客）现在都可以查询你创建的会议的回看。"
        "\u200b`/replays visibility me` 可立即收回。",
    ),
    "visibility_status_me": (
        "Replays of your meetings: only you can look them up (`/replays visibility workspace` "
        "shares them with this workspace).",
        "你会议的回看：只有你能查询（\u200b`/replays visibility workspace` 可分享给本工作区）。",
    ),
    "visibility_status_workspace": (
        "Replays of your meetings: any full member of this workspace can look them up "
        "(`/replays visibility me` makes them yours only).",
        "你会议的回看：本工作区的任何正式成员都可以查询（\u200b`/replays visibility me` 改为仅自己可见）。",
    ),
    "lookup_only_creator": (
        "Only the creator of {ref}, {owner}, can see its replays. They can share the replays "
        "with you, or let this workspace look them up with `/replays visibility workspace`.",
        "只有{ref} 的创建者 {owner} 能查看它的回看。创建者可以把回看分享给你，"
        "或用 `/replays visibility workspace` 允许本工作区的人查询。",
    ),
    "lookup_guest": (
        "{owner} shares the replays of {ref} with this workspace's full members only, and "
        "guests can't look them up. Ask {owner} to share them with you.",
        "{owner} 只向本工作区的正式成员分享{ref} 的回看，访客无法查询。请让 {owner} 把回看分享给你。",
    ),
    "card_owner": ("Meeting of {owner}", "{owner} 的会议"),
    # --- the message shortcut "Find replays"
    "shortcut_no_meeting": (
        "I found no meeting in that message: no meeting code (9-12 digits), meeting ID "
        "(19-20 digits), `/p/` link or invitation.",
        "这条消息中没有找到会议：没有会议号（9-12 位数字）、会议 ID（19-20 位数字）、\u200b`/p/` 链接或会议邀请。",
    ),
    # --- App Home
    "home_title": ("Replays", "直播回看"),
    "home_dm_on": (
        "*Direct messages:* I message you when the replays of your meetings are ready.",
        "*私信：* 你的会议回看生成后，我会私信通知你。",
    ),
    "home_dm_off": (
        "*Direct messages:* off. I don't message you about your meetings' replays.",
        "*私信：* 已关闭。我不会私信你会议回看。",
    ),
    "home_dm_turn_off": ("Turn off", "关闭"),
    "home_dm_turn_on": ("Turn on", "开启"),
    "home_refresh": ("Refresh", "刷新"),
    "home_dm_turn_off_label": (
        "Turn off direct messages about your meetings' replays",
        "关闭关于你会议回看的私信",
    ),
    "home_dm_turn_on_label": (
        "Turn on direct messages about your meetings' replays",
        "开启关于你会议回看的私信",
    ),
    "home_refresh_label": (
        "Refresh the list of your recent meetings with replays",
        "刷新你最近有回看的会议列表",
    ),
    "home_unsubscribe_label": (
        "Unsubscribe subscription {n}: {what}",
        "取消第 {n} 个订阅：{what}",
    ),
    "home_subscription_what_mine": ("all your meetings", "你的所有会议"),
    "home_subscription_what_code": ("meeting {code}", "会议 {code}"),
    "home_subscriptions": (
        "*Your subscriptions* ({count}): replays posted in channels after your meetings end.",
        "*你的订阅*\u200b（{count} 个）：会议结束后回看会发布到这些频道。",
    ),
    "home_no_subscriptions": (
        "*Your subscriptions:* none. `/replays subscribe` in a channel posts the replays of your "
        "meetings there.",
        "*你的订阅：* 无。在频道中使用 `/replays subscribe` 可把你的会议回看发布到该频道。",
    ),
    "home_subscription_mine": ("All your meetings → {channel}", "你的所有会议 → {channel}"),
    "home_subscription_code": ("Meeting {code} → {channel}", "会议 {code} → {channel}"),
    "home_unsubscribe": ("Unsubscribe", "取消订阅"),
    "home_more_subscriptions": (
        "…and {count} more. `/replays subscriptions` in a channel lists its subscriptions.",
        "……还有 {count} 个。在频道中使用 `/replays subscriptions` 可查看该频道的订阅。",
    ),
    # --- cards
    "untitled_meeting": ("Untitled meeting", "未命名会议"),
    "untitled_replay": ("Live replay {n}", "直播回看 {n}"),
    "card_code": ("Code {code}", "会议号 {code}"),
    "card_id": ("ID {meeting_id}", "会议 ID {meeting_id}"),
    "replay_count_one": ("1 replay", "1 个回看"),
    "replay_count_many": ("{count} replays", "{count} 个回看"),
    "live_room": ("Live room {room}", "直播间 {room}"),
    "watch_button": ("Watch replay", "观看回看"),
    "watch_label": ("Watch replay {name} of {subject}", "观看 {subject} 的回看：{name}"),
    "replay_link_unusable": (
        "The replay link Tencent Meeting gave can't be opened from Slack:",
        "腾讯会议提供的回看链接无法在 Slack 中打开：",
    ),
    "replay_link_missing": (
        "Tencent Meeting gave no link for this replay yet.",
        "腾讯会议尚未提供此回看的链接。",
    ),
    "continued": ("(continued, {n}/{total})", "（续，{n}/{total}）"),
    "overflow_intro": (
        "More replays, in short (too many to show in full):",
        "更多回看（数量太多，以下为简要列表）：",
    ),
    "overflow_unusable_links": (
        "{count} more replays have no link that opens from Slack.",
        "另有 {count} 个回看没有可在 Slack 中打开的链接。",
    ),
    "overflow_not_shown": (
        "…and {replays} more replays of {meetings} meetings that don't fit in a reply. "
        "Look up fewer meetings at once to see them.",
        "……还有 {meetings} 个会议的 {replays} 个回看无法在一条回复中显示。"
        "请减少一次查询的会议数量。",
    ),
    "fallback_meeting": ("{subject} ({code}): {replays}", "{subject}（{code}）：{replays}"),
    "list_separator": (", ", "、"),
    "fallback_listed": ("{subject}: {names}", "{subject}：{names}"),
    "fallback_meeting_named": (
        "{subject} ({code}): {replays}: {names}",
        "{subject}（{code}）：{replays}：{names}",
    ),
    "no_results": ("Nothing to show.", "没有可显示的内容。"),
    # --- sharing
    "share_button": ("Share in channel", "分享到频道"),
    "share_label": (
        "Share in channel the replays of {subjects}",
        "把 {subjects} 的回看分享到本频道",
    ),
    "shared_by": ("Shared by {user}", "由 {user} 分享"),
    "share_refused_not_requester": (
        "Only the person who looked these replays up can share them here.",
        "只有查询这些回看的人才能把它们分享到这里。",
    ),
    "share_done": (
        ":white_check_mark: Shared in this channel for everyone.",
        ":white_check_mark: 已分享到本频道，所有人都能看到。",
    ),
    "share_expired": (
        "I can't share this any more. Run `/replays` again and share the new answer.",
        "此内容已无法分享。请重新运行 `/replays` 并分享新的结果。",
    ),
    # --- digests
    "digest_intro": (
        "Replays of *{subject}* are ready.",
        "*{subject}* 的直播回看已生成。",
    ),
    "digest_give_up": (
        "No live replay appeared for *{subject}* ({code}) within {duration} after it ended, so I "
        "stopped checking. Look it up later with `/replays {code}`.",
        "*{subject}*\u200b（{code}）结束后 {duration} 内没有生成直播回看，我已停止检查。"
        "稍后可用 `/replays {code}` 查询。",
    ),
    # --- /replays status (admins)
    "status_refused_not_admin": (
        "Only bot admins can see the bot's status.",
        "只有机器人管理员可以查看机器人的运行状态。",
    ),
    "status_title": (
        "*Replays bot status* · version {version}",
        "*回看机器人运行状态* · 版本 {version}",
    ),
    "status_instances": ("*Instances alive:* {count}", "*运行中的实例：* {count}"),
    "status_instance": (
        "• `{instance}` on {host} (version {version}), up {uptime}, last seen {seen} s ago",
        "• `{instance}`\u200b（{host}，版本 {version}），已运行 {uptime}，{seen} 秒前在线",
    ),
    "status_this_instance": (" (this one)", "（本实例）"),
    "status_digests": (
        "*Digest jobs due:* {due}, the oldest waiting {age} s",
        "*待处理的回看推送任务：* {due} 个，最早的已等待 {age} 秒",
    ),
    "status_digests_none": ("*Digest jobs due:* none", "*待处理的回看推送任务：* 无"),
    "status_budget": (
        "*Tencent call budget (this instance, last minute):* {used} of {limit} calls",
        "*腾讯会议调用额度（本实例，最近一分钟）：* 已用 {used} / {limit} 次",
    ),
    "status_webhook": (
        "*Last webhook delivery:* {ago} s ago, {outcome} (instance `{instance}`)",
        "*最近一次 Webhook 推送：* {ago} 秒前，{outcome}（实例 `{instance}`\u200b）",
    ),
    "status_webhook_none": (
        "*Last webhook delivery:* none received yet",
        "*最近一次 Webhook 推送：* 尚未收到",
    ),
    "status_reachable": (
        "*{system}:* :white_check_mark: {detail}",
        "*{system}：* :white_check_mark: {detail}",
    ),
    "status_unreachable": ("*{system}:* :x: {detail}", "*{system}：* :x: {detail}"),
    "digest_when": ("*When:* {date}", "*时间：* {date}"),
    "digest_duration": ("*Duration:* {duration}", "*时长：* {duration}"),
    "digest_host": ("*Whose:* {host}", "*创建者：* {host}"),
    "digest_recurring": (
        "*Recurring meeting*, occurrence {occurrence}",
        "*周期性会议*\u200b，场次 {occurrence}",
    ),
    "digest_update_reply": (
        "{count} new replay(s) of *{subject}*: {names}. The message above now lists every replay.",
        "*{subject}* 有 {count} 个新的直播回看：{names}。上面的消息已列出全部回看。",
    ),
    "digest_gave_up_live": (
        "*{subject}* ({code}) went live, but no replay appeared within {duration} after it ended, "
        "so I stopped checking. Replay may be turned off for that stream.",
        "*{subject}*\u200b（{code}）进行过直播，但结束后 {duration} 内没有生成直播回看，我已停止检查。"
        "该直播可能未开启回看。",
    ),
    "duration_minutes": ("{minutes} min", "{minutes} 分钟"),
    "duration_hours": ("{hours} h", "{hours} 小时"),
    "duration_hours_minutes": ("{hours} h {minutes} min", "{hours} 小时 {minutes} 分钟"),
    # cloud recordings: look-ups
    "kind_live_replays": ("*Live replays*", "*直播回看*"),
    "kind_recordings": ("*Cloud recordings*", "*云录制*"),
    "recording_file_count_one": ("1 recording file", "1 个云录制文件"),
    "recording_file_count_many": ("{count} recording files", "{count} 个云录制文件"),
    "recording_processing_count": ("recording processing", "云录制处理中"),
    "recording_processing": (
        ":hourglass_flowing_sand: *Recording {n}:* processing. Tencent Meeting is still making "
        "it; look again in a while.",
        ":hourglass_flowing_sand: *云录制 {n}：* 处理中。腾讯会议仍在生成，请稍后再查。",
    ),
    "recording_shared": ("*Recording {n}:* shared by link", "*云录制 {n}：* 已通过链接分享"),
    "recording_members_only": (
        "only members of the enterprise may open it",
        "仅企业成员可以打开",
    ),
    "recording_participants_only": (
        "only the meeting's participants may open it",
        "仅会议参与者可以打开",
    ),
    "recording_password": ("password: `{password}`", "密码：\u200b`{password}`"),
    "recording_password_protected": (":lock: password protected", ":lock: 需要密码"),
    "recording_until": ("open until {date}", "有效期至 {date}"),
    "recording_no_expiry": ("the link does not expire", "链接长期有效"),
    "recording_sharing_off_creator": (
        "*Recording {n}:* sharing is off, so only you can open it. To share it: in the Tencent "
        "Meeting app or on meeting.tencent.com, open *Recordings*, choose this recording and "
        "click *Share*.",
        "*云录制 {n}：* 未开启分享，目前只有你能打开。如需分享：在腾讯会议客户端或 "
        "meeting.tencent.com 打开 *录制*\u200b，选择此录制并点击 *分享*\u200b。",
    ),
    "recording_not_shared": (
        "*Recording {n}:* the creator has not shared this recording.",
        "*云录制 {n}：* 创建者尚未分享此录制。",
    ),
    "recording_file": (
        "File {n} · starts {start} · {length} · {size}",
        "文件 {n} · 开始于 {start} · {length} · {size}",
    ),
    "recording_file_name": ("Recording file {n}", "云录制文件 {n}"),
    "recording_watch_button": ("Watch recording", "观看录制"),
    "recording_watch_button_n": ("Watch recording {n}", "观看云录制 {n}"),
    "recording_link_label_n": (
        "Watch cloud recording {n} of {subject}",
        "观看 {subject} 的云录制 {n}",
    ),
    "recording_watch_label": (
        "Watch recording file {n} of {subject}",
        "观看 {subject} 的云录制文件 {n}",
    ),
    "recording_player_button": ("Open in Tencent Meeting", "在腾讯会议中打开"),
    "recording_player_label": (
        "Open recording file {n} of {subject} on Tencent Meeting's page",
        "在腾讯会议页面打开 {subject} 的云录制文件 {n}",
    ),
    "recording_size_mb": ("{size} MB", "{size} MB"),
    "recording_size_kb": ("{size} KB", "{size} KB"),
    "recording_length_unknown": ("length unknown", "时长未知"),
    "recording_link_label": (
        "Watch the cloud recording of {subject}",
        "观看 {subject} 的云录制",
    ),
    # cloud recordings: digests
    "digest_recording_ready": (
        "The cloud recording of *{subject}* is ready ({count} file(s)). "
        "The message above now shows it.",
        "*{subject}* 的云录制已就绪（{count} 个文件），上面的消息已列出。",
    ),
    "digest_recording_removed": (
        ":wastebasket: _The cloud recording was removed._",
        ":wastebasket: _云录制已被删除。_",
    ),
    # --- database outage
    "storage_unavailable": (
        "My database is temporarily unavailable, so I can't do that right now. "
        "Please try again in a minute.",
        "我的数据库暂时不可用，现在无法完成这个操作。请一分钟后再试。",
    ),
    "status_storage_unavailable": (
        "I can't tell whether you're linked right now: my database is temporarily unavailable.",
        "我的数据库暂时不可用，现在无法确认你是否已绑定。",
    ),
}

#: key -> locale -> template, read-only
MESSAGES: Mapping[str, Mapping[Locale, str]] = MappingProxyType(
    {key: MappingProxyType({"en": en, "zh": zh}) for key, (en, zh) in _TEMPLATES.items()}
)


def locale_from_slack(slack_locale: str | None) -> Locale:
    """The bot's language for a Slack locale: `zh-CN`, `zh-TW`, `zh` → Chinese; others English."""
    if slack_locale and slack_locale.strip().lower().replace("_", "-").split("-")[0] == "zh":
        return "zh"
    return "en"


def t(key: str, locale: Locale, **params: object) -> str:
    """The message `key` in `locale`, filled with `params` (extra ones are ignored).

    Raises KeyError for an unknown key or a missing placeholder, so mistakes fail tests loudly.
    """
    template = MESSAGES[key]["zh" if locale == "zh" else "en"]
    return template.format(**params)


def format_duration(seconds: int, locale: Locale) -> str:
    """A wait such as DIGEST_GIVE_UP_SECONDS as people say it (`6 h`, `1 h 30 min`, `5 min`)."""
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return t("duration_minutes", locale, minutes=minutes)
    if not minutes:
        return t("duration_hours", locale, hours=hours)
    return t("duration_hours_minutes", locale, hours=hours, minutes=minutes)
