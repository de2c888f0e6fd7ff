"""The composition root: every part of one instance, built from the settings, each handed exactly
what it uses (`build`). `bot.server.BotServer` starts and stops what this builds."""

from __future__ import annotations

import importlib.metadata
import os
import socket
import uuid
from dataclasses import dataclass

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.clients import build_http_session, build_slack_client, build_tencent_client
from bot.config import Settings
from bot.core.clock import utcnow
from bot.core.digest_queue import DigestQueue, DigestTiming
from bot.core.digest_rules import DigestRules
from bot.core.home import HomeSummary
from bot.core.identity import Identity, TencentDirectory
from bot.core.in_flight import InFlight
from bot.core.lookup import ReplayLookup
from bot.core.recent import RecentMeetings
from bot.core.records import Instance
from bot.core.seen import SeenSlackEvents
from bot.core.status import HEARTBEAT_SECONDS, Heartbeat, OpsStatus
from bot.core.subscriptions import DigestSettings
from bot.core.visibility import MeetingAccess
from bot.meeting.client import TencentMeetingClient
from bot.metrics import Metrics, SlackApiMeter
from bot.probes import slack_reachable, tencent_reachable
from bot.slack.answers import Answers
from bot.slack.app import SlackParts, build_bolt_app
from bot.slack.digest_sink import SlackDigestSink
from bot.slack.poster import SlackPoster
from bot.slack.profiles import SlackProfiles
from bot.slack.responder import Responder
from bot.store import Database, open_database
from bot.store.notify import ChangeListener


def app_version() -> str:
    try:
        return importlib.metadata.version("replays-bot")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Tuning:
    """Timings that tests shorten (production uses the defaults; none is an environment variable)."""

    #: how long a link read from the database is reused from memory (see bot.core.identity)
    link_ttl: float = 15.0
    heartbeat_interval: float = HEARTBEAT_SECONDS
    #: the first pause before the change listener connects again (it doubles, up to 30 s)
    listener_backoff: float = 0.5


@dataclass
class Running:
    """What one instance is made of, as far as start-up and shutdown need to know."""

    http: aiohttp.ClientSession
    database: Database
    slack: AsyncWebClient
    lookup: ReplayLookup
    #: also the poller's source of ended meetings, when there is no webhook
    tencent_client: TencentMeetingClient
    digests: DigestRules
    access: MeetingAccess
    seen: SeenSlackEvents
    in_flight: InFlight
    bolt: AsyncApp
    metrics: Metrics
    heartbeat: Heartbeat
    #: None on SQLite (one instance, nothing to hear)
    changes: ChangeListener | None


async def build(settings: Settings, tuning: Tuning | None = None) -> Running:
    """Every part of one instance, each handed exactly what it uses."""
    tuning = tuning or Tuning()
    metrics = Metrics()
    meter = SlackApiMeter(metrics)
    database = await open_database(settings.database_url)
    storage = database.storage
    http = build_http_session()
    slack = build_slack_client(settings, http, meter)
    tencent = build_tencent_client(settings, http, observer=metrics)
    lookup = ReplayLookup(tencent, recordings=tencent)
    profiles = SlackProfiles(slack)
    operator = settings.tencent_meeting_operator_id
    identity = Identity(
        storage.links,
        profiles,
        tencent,
        operator_id=operator,
        admins=settings.bot_admins,
        directory=TencentDirectory(tencent, operator) if operator else None,
        link_ttl=tuning.link_ttl,
    )
    poster = SlackPoster(build_slack_client(settings, http, meter, retry_rate_limits=False))
    timing = DigestTiming(
        delay=settings.digest_delay_seconds, give_up=settings.digest_give_up_seconds
    )
    digests = DigestRules(
        storage,
        DigestQueue(storage.digest_jobs, timing=timing, observer=metrics),
        lookup,
        SlackDigestSink(poster, profiles),
        # without a webhook no recording.completed comes: jobs follow recordings themselves
        follow_recordings=settings.tencent_webhook_token is None,
    )
    settings_use_case = DigestSettings(identity, lookup, storage.subscriptions, storage.preferences)
    seen = SeenSlackEvents(storage.events)
    in_flight = InFlight()
    # Read when Prometheus scrapes, so they cost nothing in between.
    metrics.in_flight.set_function(lambda: in_flight.count)
    metrics.budget_used.set_function(tencent.budget.in_window)
    metrics.budget_limit.set(tencent.budget.calls_per_period)
    now = utcnow()
    host = socket.gethostname()
    instance = Instance(
        instance_id=f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        host=host,
        version=app_version(),
        started_at=now,
        last_seen=now,
    )
    heartbeat = Heartbeat(storage.ops, instance, interval=tuning.heartbeat_interval)
    status = OpsStatus(
        storage.ops,
        instance_id=instance.instance_id,
        version=instance.version,
        budget=tencent.budget,
        tencent=lambda: tencent_reachable(tencent, operator),
        slack=lambda: slack_reachable(slack),
    )
    access = MeetingAccess(identity, lookup, storage.meetings, storage.visibility, storage.links)
    changes = database.change_listener(backoff=tuning.listener_backoff)
    if changes is not None:
        changes.on("link", lambda change: identity.forget_link(change["team"], change["user"]))
        changes.on_resync(identity.forget_all_links)
        # "user" is the creator's Tencent userid for this kind
        changes.on(
            "visibility", lambda change: access.forget_visibility(change["team"], change["user"])
        )
        changes.on_resync(access.forget_all_visibility)
    recent = RecentMeetings(tencent, lookup, storage.meetings)
    parts = SlackParts(
        answers=Answers(identity, access, settings_use_case, recent, status=status),
        access=access,
        profiles=profiles,
        poster=poster,
        responder=Responder(http),
        seen=seen,
        in_flight=in_flight,
        home=HomeSummary(identity, access, recent, storage.subscriptions, storage.preferences),
        settings=settings_use_case,
    )
    return Running(
        http=http,
        database=database,
        slack=slack,
        lookup=lookup,
        tencent_client=tencent,
        digests=digests,
        access=access,
        seen=seen,
        in_flight=in_flight,
        bolt=build_bolt_app(settings, slack, parts, metrics),
        metrics=metrics,
        heartbeat=heartbeat,
        changes=changes,
    )
