"""`python -m bot check`: the configuration is valid and every outside system answers.

Each check prints one line; the exit status is non-zero when any failed. Calls are the cheapest that
prove the credentials: Slack `auth.test`, and one Tencent call whose answer tells a rejected credential
apart from a merely unknown meeting or user.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

import aiohttp

from bot.clients import build_http_session, build_slack_client, build_tencent_client
from bot.config import Settings
from bot.probes import slack_reachable, tencent_reachable
from bot.store import open_database

Check = Callable[[], Awaitable[str]]


async def run_checks(settings: Settings) -> int:
    http = build_http_session()
    try:
        results = [
            await _run("configuration", _ok("valid")),
            await _run("database", lambda: _database(settings)),
            await _run("Slack", lambda: _slack(settings, http)),
            await _run("Tencent Meeting", lambda: _tencent(settings, http)),
        ]
    finally:
        await http.close()
    return 0 if all(results) else 1


def _ok(text: str) -> Check:
    async def check() -> str:
        return text

    return check


async def _run(name: str, check: Check) -> bool:
    try:
        detail = await check()
    except Exception as error:
        print(f"FAIL {name}: {error}", file=sys.stderr)
        return False
    print(f"ok   {name}: {detail}")
    return True


async def _database(settings: Settings) -> str:
    database = await open_database(settings.database_url)
    try:
        if not await database.ping():
            raise RuntimeError("the database does not answer")
    finally:
        await database.close()
    return "reachable, schema up to date"


async def _slack(settings: Settings, http: aiohttp.ClientSession) -> str:
    return await slack_reachable(build_slack_client(settings, http))


async def _tencent(settings: Settings, http: aiohttp.ClientSession) -> str:
    client = build_tencent_client(settings, http)
    return await tencent_reachable(client, settings.tencent_meeting_operator_id)
