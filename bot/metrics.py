"""Prometheus metrics of one instance, and `GET /metrics` to read them.

Every instance keeps its own `CollectorRegistry` (never the client library's global one): tests run
several servers in one process, and each must count only what it did. The parts that count are
handed what they need by the composition root (`bot.compose`): the Tencent client and the digest queue
get this object as their observer, the Slack clients get a `SlackApiMeter` among their retry
handlers, the Bolt app and the web app get it explicitly.

Labels stay low-cardinality: kinds of request, endpoints, error codes, states, outcomes; never a
user, channel, team or meeting, which belong in the logs (`bot.core.correlation`).

What the database knows (digest jobs by state, the oldest due job) is read when Prometheus scrapes,
through the `refresh` callback given to `install`, so an idle instance runs no queries for it.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

log = logging.getLogger(__name__)

#: Slack wants an acknowledgement within 3 s; the buckets resolve the part that matters
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
#: from the request to the answer sent: mostly one Tencent call and one post
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
#: a turn in the call budget is usually free; a full budget waits up to a minute
WAIT_BUCKETS = (0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0)
#: a wait shorter than this is bookkeeping, not the budget holding a call back
WAITED = 0.001

Refresh = Callable[["Metrics"], Awaitable[None]]
WebhookListener = Callable[[str], None]


class Metrics:
    """Every metric of one instance, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        # --- Slack
        self.slack_requests = Counter(
            "replays_slack_requests",
            "Slack requests dispatched (commands, events, actions), by kind and outcome",
            ["kind", "outcome"],
            registry=registry,
        )
        self.slack_ack_seconds = Histogram(
            "replays_slack_ack_seconds",
            "Time from a Slack request's dispatch to its acknowledgement",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.slack_answer_seconds = Histogram(
            "replays_slack_answer_seconds",
            "Time from a Slack request's dispatch to the end of the work after its acknowledgement",
            ["kind"],
            buckets=ANSWER_BUCKETS,
            registry=registry,
        )
        self.busy_refusals = Counter(
            "replays_busy_refusals",
            "Look-ups turned away with 'busy' because too much work was in flight",
            registry=registry,
        )
        self.in_flight = Gauge(
            "replays_in_flight",
            "Work under way after acknowledgements (answers owed to people)",
            registry=registry,
        )
        self.slack_api_errors = Counter(
            "replays_slack_api_errors",
            "Slack Web API calls that failed, by method and Slack error (http_<status> without one)",
            ["method", "error"],
            registry=registry,
        )
        self.slack_api_rate_limited = Counter(
            "replays_slack_api_rate_limited",
            "Slack Web API answers 429 (rate limited), by method",
            ["method"],
            registry=registry,
        )
        # --- Tencent
        self.tencent_calls = Counter(
            "replays_tencent_calls",
            "Tencent Meeting API attempts, by endpoint and error code ('0': success)",
            ["endpoint", "error_code"],
            registry=registry,
        )
        self.tencent_call_seconds = Histogram(
            "replays_tencent_call_seconds",
            "Duration of one Tencent Meeting API attempt",
            ["endpoint"],
            buckets=ANSWER_BUCKETS,
            registry=registry,
        )
        self.budget_wait_seconds = Histogram(
            "replays_tencent_budget_wait_seconds",
            "Time each Tencent call waited for its turn in the call budget, by lane",
            ["lane"],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.budget_waits = Counter(
            "replays_tencent_budget_waits",
            "Tencent calls that had to wait for the call budget, by lane",
            ["lane"],
            registry=registry,
        )
        self.budget_exhausted = Counter(
            "replays_tencent_budget_exhausted",
            "Tencent calls given up because their turn in the budget was too far away, by lane",
            ["lane"],
            registry=registry,
        )
        self.budget_used = Gauge(
            "replays_tencent_budget_calls",
            "Tencent calls granted by this instance's budget in the last window (60 s)",
            registry=registry,
        )
        self.budget_limit = Gauge(
            "replays_tencent_budget_limit",
            "Tencent calls this instance's budget allows per window (60 s)",
            registry=registry,
        )
        # --- digests and webhooks
        self.digest_runs = Counter(
            "replays_digest_job_runs",
            "Digest job runs on this instance, by result (a final state, or retry)",
            ["result"],
            registry=registry,
        )
        self.digest_jobs = Gauge(
            "replays_digest_jobs",
            "Digest jobs in the database, by state (read at scrape time)",
            ["state"],
            registry=registry,
        )
        self.digest_oldest_due_seconds = Gauge(
            "replays_digest_oldest_due_age_seconds",
            "How long the oldest pending digest job has been due (0 when none is)",
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "replays_webhook_deliveries",
            "Tencent webhook deliveries (POST), by outcome",
            ["outcome"],
            registry=registry,
        )

        #: children of labelled metrics, by metric and label values (see `labelled`)
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}

    def labelled(self, metric: MetricWrapperBase, *values: str) -> Any:
        """`metric.labels(*values)`, kept: the labels are few, and `labels()` validates, converts
        and takes a lock on every call, several times per request otherwise."""
        key = (metric, values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    # --- observers the parts are handed (bot.meeting.client.CallObserver,
    # bot.core.digest_queue.DigestObserver)

    def tencent_call(self, endpoint: str, error_code: str, seconds: float) -> None:
        self.labelled(self.tencent_calls, endpoint, error_code).inc()
        self.labelled(self.tencent_call_seconds, endpoint).observe(seconds)

    def budget_waited(self, seconds: float, *, lane: str, exhausted: bool = False) -> None:
        if exhausted:
            self.labelled(self.budget_exhausted, lane).inc()
            return
        self.labelled(self.budget_wait_seconds, lane).observe(seconds)
        if seconds >= WAITED:
            self.labelled(self.budget_waits, lane).inc()

    def digest_ran(self, result: str) -> None:
        self.digest_runs.labels(result).inc()

    # --- values read at scrape time

    def set_digest_backlog(self, by_state: Mapping[str, int], oldest_due_seconds: float) -> None:
        for state, count in by_state.items():
            self.digest_jobs.labels(state).set(count)
        self.digest_oldest_due_seconds.set(oldest_due_seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class SlackApiMeter(AsyncRetryHandler):
    """Counts Slack Web API errors and 429s; it never retries anything itself.

    slack_sdk shows every answer (and every connection failure) to each retry handler in turn until
    one retries, so this one, first in the list, sees all of them, including the 429s that a later
    handler then waits out.
    """

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self._metrics = metrics

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.split("?", 1)[0].rsplit("/", 1)[-1] or "unknown"
        if response is None:
            self._metrics.slack_api_errors.labels(method, "connection").inc()
        elif response.status_code == 429:
            self._metrics.slack_api_rate_limited.labels(method).inc()
        elif response.status_code >= 400:
            self._metrics.slack_api_errors.labels(method, f"http_{response.status_code}").inc()
        elif isinstance(response.body, dict) and response.body.get("ok") is False:
            error_code = str(response.body.get("error") or "unknown")
            self._metrics.slack_api_errors.labels(method, error_code).inc()
        return False


METRICS = web.AppKey("metrics", Metrics)
WEBHOOK_LISTENER: web.AppKey[WebhookListener] = web.AppKey("webhook_listener")


def install(
    app: web.Application,
    metrics: Metrics,
    *,
    token: str | None,
    refresh: Refresh | None = None,
    on_webhook: WebhookListener | None = None,
) -> None:
    """Serve `GET /metrics` on `app` (404 while `token` is None, 401 without it), and count the
    Tencent webhook deliveries it answers (telling `on_webhook` each one's outcome too)."""
    app[METRICS] = metrics
    app[WEBHOOK_LISTENER] = on_webhook or _ignore
    app.middlewares.append(_count_webhook_deliveries)
    app.router.add_get("/metrics", _metrics_handler(metrics, token, refresh))


def _metrics_handler(
    metrics: Metrics, token: str | None, refresh: Refresh | None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    expected = f"Bearer {token}".encode() if token else None

    async def serve(request: web.Request) -> web.Response:
        if expected is None:
            raise web.HTTPNotFound()
        offered = request.headers.get("Authorization", "").encode()
        # compare_digest: how much of a wrong token matched must not show in the answer's timing
        if not hmac.compare_digest(offered, expected):
            return web.Response(
                status=401, text="unauthorized", headers={"WWW-Authenticate": "Bearer"}
            )
        if refresh is not None:
            try:
                await refresh(metrics)
            except Exception as error:
                # The counters are still worth having when the database is down.
                log.warning("metrics: could not read the digest backlog: %r", error)
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    return serve


#: the webhook's answer, as an outcome label
def webhook_outcome(status: int) -> str:
    if status == 200:
        return "accepted"
    if status == 404:
        return "not_configured"
    if status >= 500:
        return "unavailable"
    return "refused"


def _ignore(_outcome: str) -> None:
    return None


@web.middleware
async def _count_webhook_deliveries(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method != "POST" or request.path != "/tencent/webhook":
        return await handler(request)
    started = time.perf_counter()
    try:
        response: web.StreamResponse = await handler(request)
        status = response.status
    except web.HTTPException as error:
        status = error.status
        raise
    except Exception:
        status = 500
        raise
    finally:
        outcome = webhook_outcome(status)
        request.app[METRICS].webhook_deliveries.labels(outcome).inc()
        request.app[WEBHOOK_LISTENER](outcome)
        log.debug("webhook delivery %s in %.3f s", outcome, time.perf_counter() - started)
    return response
