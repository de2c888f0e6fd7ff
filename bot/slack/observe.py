"""What each Slack request is, for the metrics and the logs: its kind, team and id, how long its
acknowledgement and its answer took, and how it ended.

`ObservedApp` is Bolt's `AsyncApp` with its one entry point wrapped: both HTTP (`bot.web`) and
Socket Mode hand every request to `async_dispatch`, so timing and labelling it there covers both.
The request's correlation fields (`bot.core.correlation`) and its `RequestScope` are set in the
context the listeners' tasks are created in, so the work after the ack inherits them: the logs of a
look-up name its team and command, and the work's end (`note_answered`, called by
`bot.slack.after_ack`) is timed from the request's start without the listeners passing anything along.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.core import correlation
from bot.metrics import Metrics

#: the events this app subscribes to (manifest.yml); any other is labelled `event`
_EVENT_KINDS = frozenset({"app_mention", "message", "app_home_opened"})
_PAYLOAD_KINDS = frozenset(
    {"block_actions", "shortcut", "message_action", "view_submission", "view_closed"}
)


@dataclass
class RequestScope:
    """One Slack request being served; `outcome` is set by a listener that turns it away."""

    kind: str
    started: float
    outcome: str | None = None
    #: the answer travelled in the acknowledgement: its time is the acknowledgement's
    answered_in_ack: bool = False


_scope: ContextVar[RequestScope | None] = ContextVar("slack_request", default=None)


def request_kind(body: dict[str, Any]) -> str:
    """A low-cardinality name for what Slack sent."""
    if body.get("command"):
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        event_type = (body.get("event") or {}).get("type")
        return event_type if event_type in _EVENT_KINDS else "event"
    if kind in _PAYLOAD_KINDS:
        return str(kind)
    return "other"


def _team(body: dict[str, Any]) -> str | None:
    team = body.get("team_id") or body.get("team")
    if isinstance(team, dict):
        team = team.get("id")
    return team if isinstance(team, str) else None


def _request_id(body: dict[str, Any]) -> str | None:
    # Events carry a unique event_id; commands and interactions a trigger_id.
    value = body.get("event_id") or body.get("trigger_id")
    return value if isinstance(value, str) else None


def note_outcome(outcome: str) -> None:
    """Record how the current request ended, when not simply served (`busy`: turned away)."""
    scope = _scope.get()
    if scope is not None:
        scope.outcome = outcome


def note_answered_in_ack() -> None:
    """Record that the current request's answer was its acknowledgement."""
    scope = _scope.get()
    if scope is not None:
        scope.answered_in_ack = True


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    return "rejected" if status < 500 else "error"


class ObservedApp(AsyncApp):
    """`AsyncApp` whose dispatch is timed, labelled and counted in `metrics`."""

    def __init__(self, *, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        body = req.body if isinstance(req.body, dict) else {}
        scope = RequestScope(kind=request_kind(body), started=time.perf_counter())
        token = _scope.set(scope)
        status = 500
        try:
            with correlation.scope(
                team=_team(body), request_kind=scope.kind, request_id=_request_id(body)
            ):
                response = await super().async_dispatch(req)
            status = response.status
            return response
        finally:
            _scope.reset(token)
            metrics = self._metrics
            outcome = scope.outcome or _outcome(status)
            if outcome == "busy":
                metrics.busy_refusals.inc()
            metrics.labelled(metrics.slack_requests, scope.kind, outcome).inc()
            took = time.perf_counter() - scope.started
            metrics.labelled(metrics.slack_ack_seconds, scope.kind).observe(took)
            if scope.answered_in_ack:
                metrics.labelled(metrics.slack_answer_seconds, scope.kind).observe(took)


def note_answered(metrics: Metrics) -> None:
    """Record that the current request's work after its acknowledgement has ended."""
    scope = _scope.get()
    if scope is not None:
        metrics.labelled(metrics.slack_answer_seconds, scope.kind).observe(
            time.perf_counter() - scope.started
        )
