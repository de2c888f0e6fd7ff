"""The server under test, in a process of its own: `python -m benchmarks.server '<json config>'`.

`{"kind": "bot", "settings": {...}}` starts the real bot (`BotServer` with
`load_settings(env_file=None, **settings)`, logging set up as `python -m bot` does);
`{"kind": "bare", "token": ..., "signing_secret": ..., "api_url": ...}` starts a bare Bolt
`AsyncApp` that only acknowledges `/replays`, served the same way as the bot's `/slack/events`.

It prints `READY <port>` once it serves and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build_bare_app(token: str, signing_secret: str, api_url: str) -> web.Application:
    """The baseline: Bolt, signature verification on, a listener that only calls `ack()`."""
    bolt = AsyncApp(
        client=AsyncWebClient(token=token, base_url=api_url),
        token=token,
        signing_secret=signing_secret,
    )

    @bolt.command("/replays")
    async def replays(ack: AsyncAck) -> None:
        await ack()

    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    app = web.Application()
    app.router.add_post("/slack/events", slack_events)
    return app


async def _serve_bare(config: dict[str, Any], stop: asyncio.Event) -> None:
    app = build_bare_app(config["token"], config["signing_secret"], config["api_url"])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"READY {port}", flush=True)
    await stop.wait()
    await runner.cleanup()


async def _serve_bot(config: dict[str, Any]) -> None:
    from bot.config import load_settings
    from bot.logs import configure_logging
    from bot.server import BotServer

    settings = load_settings(env_file=None, **config["settings"])
    configure_logging(settings.log_level, settings.secrets)
    # As `python -m bot` serves: until SIGTERM, then a graceful stop.
    await BotServer(settings, host="127.0.0.1").serve_forever(
        on_ready=lambda port: print(f"READY {port}", flush=True)
    )


async def main(config: dict[str, Any]) -> None:
    if config["kind"] != "bare":
        await _serve_bot(config)
        return
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await _serve_bare(config, stop)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
