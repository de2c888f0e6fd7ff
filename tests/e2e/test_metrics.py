"""`GET /metrics` after a run of commands, a mention, webhooks and a digest: every counter says what
the run did, as the fakes recorded it, and the exposition parses with the client library's parser.

Without `METRICS_TOKEN` the endpoint does not exist (404); with it, only a request bearing the
token gets an answer (401 otherwise).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import WEBHOOK_TOKEN, RunningBot, StartBot
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import (
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_MEETING_ID,
    SPEC_EXAMPLE_SUBJECT,
    FakeTencent,
)
from tests.fakes.tencent_webhook import meeting_end_event

TOKEN = "metrics-token-7c1d2e"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def endpoint_of(path: str) -> str:
    """How the bot names a Tencent path in its labels."""
    if path == "/v1/meetings/live_play/replays":
        return "replays_by_code"
    if path.startswith("/v1/meetings/") and path.endswith("/live_play/replays"):
        return "replays_by_id"
    if path == "/v1/users/list":
        return "users_list"
    if path == "/v1/records":
        return "records"
    if path.startswith("/v1/addresses/"):
        return "addresses"
    assert path.startswith("/v1/users/"), path
    return "user_detail"


async def scrape(bot: RunningBot, token: str | None = TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with bot.session.get(f"{bot.url}/metrics", headers=headers) as response:
        return response.status, await response.text()


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series does not exist (nothing was counted)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


@pytest.mark.slow
async def test_metrics_count_what_the_run_did(
    start_bot: StartBot, fake_slack: FakeSlack, fake_tencent: FakeTencent
) -> None:
    # The digest below follows its meeting after posting until the give-up time: kept short, so
    # that the job has ended (and made its last call) when the metrics are read.
    bot = await start_bot(metrics_token=TOKEN, digest_give_up_seconds=2)
    assert bot.server.running is not None

    # Commands: a look-up, help, a subscription, a look-up that meets Tencent failing (three
    # attempts, each a 503 without a Tencent error body).
    await bot.ask(SPEC_EXAMPLE_MEETING_CODE)
    await bot.ask("help")
    await bot.ask("subscribe", channel_id="C1")
    fake_tencent.fail_next(3, status=503)
    await bot.ask(f"refresh {SPEC_EXAMPLE_MEETING_CODE}")
    commands = 4

    # One look-up turned away as busy (a refresh: a cached answer would come in the ack).
    running = bot.server.running
    running.in_flight.limit = 0
    busy = await bot.command(f"refresh {SPEC_EXAMPLE_MEETING_CODE}")
    assert "try again" in busy.text
    running.in_flight.limit = 1_000

    # A mention from a user Slack does not know: users.info answers user_not_found.
    await bot.slack.app_mention(SPEC_EXAMPLE_MEETING_CODE, user_id="UGONE", channel="C1")
    await fake_slack.wait_until(lambda: len(fake_slack.ephemerals) >= 1)
    await bot.idle()

    # Webhooks: one refused (wrong token), one accepted; its digest meets one 429 from Slack.
    event = meeting_end_event(
        SPEC_EXAMPLE_MEETING_ID, SPEC_EXAMPLE_MEETING_CODE, SPEC_EXAMPLE_SUBJECT, "tester"
    )
    calls_for_people = len(fake_tencent.calls)
    refused, _ = await bot.webhook(event, token=WEBHOOK_TOKEN[::-1])
    assert 400 <= refused < 500
    fake_slack.rate_limit_next("chat.postMessage", 1)
    assert (await bot.webhook(event))[0] == 200
    await fake_slack.wait_for_posts(2, timeout=10)
    digest_jobs = running.database.storage.digest_jobs
    async with asyncio.timeout(10):
        while True:
            jobs = await digest_jobs.for_meeting(SPEC_EXAMPLE_MEETING_ID)
            if jobs and all(job.state != "pending" for job in jobs):
                break
            await asyncio.sleep(0.02)

    status, text = await scrape(bot)
    assert status == 200
    samples = parse(text)

    # Slack requests, by kind and outcome; each acknowledged and (but the busy one) answered.
    assert value(samples, "replays_slack_requests_total", kind="command", outcome="ok") == commands
    assert value(samples, "replays_slack_requests_total", kind="command", outcome="busy") == 1
    assert value(samples, "replays_slack_requests_total", kind="app_mention", outcome="ok") == 1
    assert value(samples, "replays_busy_refusals_total") == 1
    assert value(samples, "replays_slack_ack_seconds_count", kind="command") == commands + 1
    assert value(samples, "replays_slack_answer_seconds_count", kind="command") == commands
    assert value(samples, "replays_slack_answer_seconds_count", kind="app_mention") == 1
    assert value(samples, "replays_in_flight") == 0

    # Tencent calls by endpoint and error code: exactly what the fake Tencent recorded.
    recorded = Counter(
        (endpoint_of(call.path), str(call.error_code) if call.error_code else "0")
        if call.status == 200 or call.error_code
        else (endpoint_of(call.path), f"http_{call.status}")
        for call in fake_tencent.calls
    )
    counted = {
        (dict(labels)["endpoint"], dict(labels)["error_code"]): v
        for (name, labels), v in samples.items()
        if name == "replays_tencent_calls_total"
    }
    assert counted == dict(recorded)
    assert counted[("replays_by_code", "http_503")] == 3
    assert value(samples, "replays_tencent_budget_calls") == len(fake_tencent.calls)
    assert value(samples, "replays_tencent_budget_limit") == 300
    # Each call waited for its turn once: the commands' and the mention's in people's lane, the
    # digest's in the background lane.
    waits = "replays_tencent_budget_wait_seconds_count"
    assert value(samples, waits, lane="people") == calls_for_people
    assert value(samples, waits, lane="background") == len(fake_tencent.calls) - calls_for_people
    assert len(fake_tencent.calls) > calls_for_people

    # Webhook deliveries and the digest they led to.
    assert value(samples, "replays_webhook_deliveries_total", outcome="accepted") == 1
    assert value(samples, "replays_webhook_deliveries_total", outcome="refused") == 1
    assert value(samples, "replays_digest_job_runs_total", result="posted") == 1
    assert value(samples, "replays_digest_jobs", state="posted") == 1
    assert value(samples, "replays_digest_jobs", state="pending") == 0
    assert value(samples, "replays_digest_oldest_due_age_seconds") == 0

    # Slack API errors and 429s, by method.
    gone = [c for c in fake_slack.calls_to("users.info") if c.get("user") == "UGONE"]
    assert gone
    assert value(
        samples, "replays_slack_api_errors_total", method="users.info", error="user_not_found"
    ) == len(gone)
    assert value(samples, "replays_slack_api_rate_limited_total", method="chat.postMessage") == 1

    # No label names a person, a channel, a team or a meeting.
    label_values = {v for (_, labels) in samples for _, v in labels}
    people_and_places = {"U1", "UGONE", "C1", "DU1", fake_slack.team_id}
    meetings = {SPEC_EXAMPLE_MEETING_CODE, SPEC_EXAMPLE_MEETING_ID}
    assert not label_values & (people_and_places | meetings)


async def test_metrics_need_the_token(start_bot: StartBot) -> None:
    bot = await start_bot(metrics_token=TOKEN)
    assert (await scrape(bot, token=None))[0] == 401
    assert (await scrape(bot, token=TOKEN + "x"))[0] == 401
    async with bot.session.get(f"{bot.url}/metrics", headers={"Authorization": TOKEN}) as response:
        assert response.status == 401  # the token without "Bearer"
    status, text = await scrape(bot)
    assert status == 200
    assert "replays_slack_requests" in text


async def test_without_a_metrics_token_there_is_no_metrics_endpoint(bot: RunningBot) -> None:
    assert (await scrape(bot))[0] == 404
    assert (await scrape(bot, token=None))[0] == 404


async def test_two_servers_in_one_process_count_apart(start_bot: StartBot, tmp_path: Any) -> None:
    first = await start_bot(metrics_token=TOKEN)
    second = await start_bot(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}", metrics_token=TOKEN)
    await first.ask("help")
    await first.ask("help")
    samples = [parse((await scrape(bot))[1]) for bot in (first, second)]
    counted = [
        value(s, "replays_slack_requests_total", kind="command", outcome="ok") for s in samples
    ]
    assert counted == [2, 0]


async def test_a_scrape_without_a_database_still_answers(
    start_bot: StartBot, monkeypatch: Any
) -> None:
    bot = await start_bot(metrics_token=TOKEN)
    assert bot.server.running is not None

    async def unreachable(_now: object) -> None:
        raise ConnectionError("database down")

    monkeypatch.setattr(bot.server.running.database.storage.ops, "digest_backlog", unreachable)
    status, text = await scrape(bot)
    assert status == 200
    assert "replays_slack_requests" in text
