"""The `/replays status` card: what `bot.core.status.OpsStatus` found, as one message for an admin."""

from __future__ import annotations

from bot.core.status import Reachability, StatusReport
from bot.i18n import Locale, format_duration, t
from bot.slack.render.block_kit import Message, section
from bot.slack.render.mrkdwn import cut

#: an error message quoted in the card is cut to this (the card must stay one glance)
MAX_DETAIL = 200


def render_status(report: StatusReport, locale: Locale) -> Message:
    lines = [t("status_title", locale, version=report.version)]
    lines.append(t("status_instances", locale, count=len(report.instances)))
    for instance in report.instances:
        line = t(
            "status_instance",
            locale,
            instance=cut(instance.instance_id, 80, escape=True),
            host=cut(instance.host, 80, escape=True),
            version=cut(instance.version, 40, escape=True),
            uptime=format_duration(int((report.now - instance.started_at).total_seconds()), locale),
            seen=max(int((report.now - instance.last_seen).total_seconds()), 0),
        )
        if instance.instance_id == report.this_instance:
            line += t("status_this_instance", locale)
        lines.append(line)
    backlog = report.backlog
    digests = (
        t("status_digests", locale, due=backlog.due, age=int(report.oldest_due_age))
        if backlog.due
        else t("status_digests_none", locale)
    )
    budget = t("status_budget", locale, used=report.budget_used, limit=report.budget_limit)
    webhook = report.last_webhook
    if webhook is None:
        webhook_line = t("status_webhook_none", locale)
    else:
        webhook_line = t(
            "status_webhook",
            locale,
            ago=max(int((report.now - webhook.at).total_seconds()), 0),
            outcome=cut(webhook.outcome, 40, escape=True),
            instance=cut(webhook.instance_id, 80, escape=True),
        )
    reach = [
        _reachability("Tencent Meeting", report.tencent, locale),
        _reachability("Slack", report.slack, locale),
    ]
    blocks = [
        section("\n".join(lines)),
        section(f"{digests}\n{budget}\n{webhook_line}"),
        section("\n".join(reach)),
    ]
    return {"text": t("status_title", locale, version=report.version), "blocks": blocks}


def _reachability(system: str, reach: Reachability, locale: Locale) -> str:
    key = "status_reachable" if reach.ok else "status_unreachable"
    return t(key, locale, system=system, detail=cut(reach.detail, MAX_DETAIL, escape=True))
