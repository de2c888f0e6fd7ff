"""Hostile and garbled HTTP against the running server: a clean 4xx, never an ERROR or a traceback.

What the internet sends to a public endpoint (unsigned junk, bodies that are not what they say they
are, clients that hang up mid-body or connect and say nothing) is expected traffic: it gets a 4xx
or a closed connection and at most one quiet log line, never a 500 with a traceback. A request that
Slack signed correctly but that cannot be read is a 400, and is the only kind worth a WARNING.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlencode

import pytest
from yarl import URL

from bot import http_guard
from tests.e2e.conftest import SIGNING_SECRET, RunningBot, StartBot
from tests.fakes.tencent_webhook import new_nonce, new_timestamp

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
COMMAND_FORM = urlencode(
    {"command": "/replays", "text": "help", "user_id": "U1", "team_id": "T0001"}
).encode()
#: JSON nested 50,000 levels deep: enough to overflow a recursive parser
DEEP_JSON = b"[" * 50_000 + b"]" * 50_000
DEEP_OBJECT = b'{"a":' + DEEP_JSON + b"}"
NOT_UTF8 = b'{"type": "event_callback", "text": "\xff\xfe\xc3\x28"}'

#: (name, body, content type): bodies no Slack request parser should have to survive
GARBLED = [
    ("malformed JSON", b'{"type": "event_callback", ', JSON),
    ("JSON 50,000 levels deep", DEEP_OBJECT, JSON),
    ("deep JSON as a form payload", b"payload=" + DEEP_JSON, FORM),
    ("invalid UTF-8", NOT_UTF8, JSON),
    ("invalid UTF-8 in a form", b"command=/replays&text=\xff\xfe", FORM),
    ("unknown charset", b'{"type": "url_verification"}', "application/json; charset=klingon"),
    ("form body labelled as JSON", COMMAND_FORM, JSON),
    ("JSON that is not an object", b"[1, 2, 3]", JSON),
    ("form payload that is not JSON", b"payload=%7Bnot+json", FORM),
]


def slack_signature(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(body: bytes, *, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": slack_signature(body, timestamp),
    }


async def post(
    bot: RunningBot, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    all_headers = {"Content-Type": content_type, **(headers or {})}
    async with bot.session.post(
        f"{bot.url}/slack/events", data=body, headers=all_headers, allow_redirects=False
    ) as response:
        return response.status, await response.text()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of every logger (aiohttp's included), from DEBUG up."""
    with caplog.at_level(logging.DEBUG):
        for name in ("aiohttp.server", "aiohttp.access", "aiohttp.web", "slack_bolt"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        yield caplog


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not loud, [f"{r.name}: {r.getMessage()}" for r in loud]
    with_traceback = [r for r in caplog.records if r.exc_info or r.exc_text or r.stack_info]
    assert not with_traceback, [f"{r.name}: {r.getMessage()}" for r in with_traceback]


# --- point 1: the signature first, then the body -------------------------------------------------


@pytest.mark.parametrize(("name", "body", "content_type"), GARBLED, ids=[g[0] for g in GARBLED])
async def test_unsigned_garbage_is_401_and_quiet(
    bot: RunningBot, logs: pytest.LogCaptureFixture, name: str, body: bytes, content_type: str
) -> None:
    status, _ = await post(bot, body, content_type)
    assert status == 401, name
    assert_quiet(logs)


@pytest.mark.parametrize(("name", "body", "content_type"), GARBLED, ids=[g[0] for g in GARBLED])
async def test_wrongly_signed_garbage_is_401_and_quiet(
    bot: RunningBot, logs: pytest.LogCaptureFixture, name: str, body: bytes, content_type: str
) -> None:
    headers = signed(body)
    headers["X-Slack-Signature"] = slack_signature(body, headers["X-Slack-Request-Timestamp"], "x")
    status, _ = await post(bot, body, content_type, headers)
    assert status == 401, name
    assert_quiet(logs)


@pytest.mark.parametrize(("name", "body", "content_type"), GARBLED, ids=[g[0] for g in GARBLED])
async def test_signed_garbage_is_400_and_quiet(
    bot: RunningBot, logs: pytest.LogCaptureFixture, name: str, body: bytes, content_type: str
) -> None:
    status, _ = await post(bot, body, content_type, signed(body))
    assert status == 400, name
    assert_quiet(logs)
    refused = [r for r in logs.records if r.name == "bot.http_guard"]
    assert len(refused) == 1 and refused[0].levelno == logging.WARNING


BAD_HEADERS = [
    ("non-numeric timestamp", {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=0"}),
    ("float timestamp", {"X-Slack-Request-Timestamp": "1.5e9", "X-Slack-Signature": "v0=0"}),
    ("empty timestamp", {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": "v0=0"}),
    ("timestamp only", {"X-Slack-Request-Timestamp": "1700000000"}),
    ("signature only", {"X-Slack-Signature": "v0=abc"}),
    (
        "non-ASCII signature",
        {"X-Slack-Request-Timestamp": "1700000000", "X-Slack-Signature": "v0=é"},
    ),
]


@pytest.mark.parametrize(("name", "headers"), BAD_HEADERS, ids=[b[0] for b in BAD_HEADERS])
async def test_bad_signature_headers_are_401_before_the_body_is_read(
    bot: RunningBot, logs: pytest.LogCaptureFixture, name: str, headers: dict[str, str]
) -> None:
    # the body is one no parser survives: a 401 shows it was never parsed
    status, _ = await post(bot, DEEP_OBJECT, JSON, headers)
    assert status == 401, name
    assert_quiet(logs)


@pytest.mark.parametrize("age", [-301, 301, 100_000])
async def test_stale_or_future_signature_is_401(
    bot: RunningBot, logs: pytest.LogCaptureFixture, age: int
) -> None:
    status, _ = await post(bot, NOT_UTF8, JSON, signed(NOT_UTF8, at=time.time() - age))
    assert status == 401
    assert_quiet(logs)


async def test_signed_slash_command_still_works(
    bot: RunningBot, logs: pytest.LogCaptureFixture
) -> None:
    messages = await bot.ask("help")
    assert messages
    reply = await bot.command("help", signature="v0=" + "0" * 64)
    assert reply.status == 401
    assert_quiet(logs)


async def test_signed_utf8_charset_alias_is_read(
    bot: RunningBot, logs: pytest.LogCaptureFixture
) -> None:
    body = b'{"type": "url_verification", "challenge": "caf\xc3\xa9"}'
    status, text = await post(bot, body, "application/json; charset=UTF8", signed(body))
    assert status == 200
    assert json.loads(text) == {"challenge": "café"}
    assert_quiet(logs)


# --- point 2: clients hanging up mid-body ----------------------------------------------------------


async def hang_up_mid_body(bot: RunningBot, path: str, headers: dict[str, str]) -> None:
    """Send a head promising 2,000 bytes, then 1,000 of them, then close."""
    url = URL(bot.url)
    _reader, writer = await asyncio.open_connection(url.host, url.port)
    head = [f"POST {path} HTTP/1.1", f"Host: {url.host}", "Content-Length: 2000"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + b"{" * 1000)
    await writer.drain()
    await asyncio.sleep(0.05)  # the head is parsed and the handler is waiting for the rest
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def settle(caplog: pytest.LogCaptureFixture, count: int) -> None:
    """Wait (up to 5 s) until the server has logged something about `count` requests."""
    for _ in range(250):
        about = [r for r in caplog.records if r.name in ("aiohttp.server", "bot.http_guard")]
        if len(about) >= count:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)


@pytest.mark.parametrize("path", ["/slack/events", "/tencent/webhook"])
async def test_client_hanging_up_mid_body_is_quiet(
    bot: RunningBot, logs: pytest.LogCaptureFixture, path: str
) -> None:
    body = b"{" * 2000
    if path == "/slack/events":
        headers = {"Content-Type": JSON, **signed(body)}
    else:
        headers = {"Content-Type": JSON, "timestamp": new_timestamp(), "nonce": new_nonce()}
        headers["signature"] = "0" * 40
    await asyncio.gather(*(hang_up_mid_body(bot, path, headers) for _ in range(20)))
    await settle(logs, 20)
    assert_quiet(logs)
    # at most one line for each client that went away
    assert len([r for r in logs.records if r.levelno >= logging.INFO]) <= 20
    # and the server still answers
    async with bot.session.get(f"{bot.url}/healthz") as response:
        assert response.status == 200


async def exchange(bot: RunningBot, raw: bytes) -> bytes:
    """Send `raw` on a connection of its own; everything the server sent until it closed."""
    async with connection(bot) as (reader, writer):
        writer.write(raw)
        async with asyncio.timeout(5):
            return await reader.read()


BROKEN_BODIES = [
    (
        "bad gzip",
        b"Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n"
        b"\r\nnot gzip!!",
    ),
    (
        "bad chunk size",
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    ),
]


@pytest.mark.parametrize("path", ["/slack/events", "/tencent/webhook"])
@pytest.mark.parametrize(("name", "rest"), BROKEN_BODIES, ids=[b[0] for b in BROKEN_BODIES])
async def test_broken_body_encoding_is_400_and_quiet(
    bot: RunningBot, logs: pytest.LogCaptureFixture, path: str, name: str, rest: bytes
) -> None:
    answer = await exchange(bot, f"POST {path} HTTP/1.1\r\nHost: bot\r\n".encode() + rest)
    assert answer.split(b"\r\n", 1)[0].split()[1] == b"400", name
    assert_quiet(logs)


# --- point 3: idle connections and slow bodies ----------------------------------------------------


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_guard, "HEAD_TIMEOUT", 0.5)
    monkeypatch.setattr(http_guard, "BODY_TIMEOUT", 0.5)


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        async with asyncio.timeout(within):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def healthz_on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    """One keep-alive GET /healthz on an open connection; returns the status."""
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


@contextlib.asynccontextmanager
async def connection(
    bot: RunningBot,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    url = URL(bot.url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.mark.slow
async def test_silent_connections_are_closed_but_keep_alive_is_not(
    short_timeouts: None, start_bot: StartBot, logs: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    async with (
        connection(bot) as (silent, _),
        connection(bot) as (half_head, half_head_writer),
        connection(bot) as (busy, busy_writer),
    ):
        half_head_writer.write(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Le")
        # a keep-alive connection sending a request every 0.2 s, for longer than the timeout
        started = time.monotonic()
        while time.monotonic() - started < 1.5:
            assert await healthz_on(busy, busy_writer) == 200
            await asyncio.sleep(0.2)
        assert await closed_by_server(silent, within=1.5)
        assert await closed_by_server(half_head, within=1.5)
        # idle between requests for three times the head timeout: keep-alive, not closed
        await asyncio.sleep(1.5)
        assert await healthz_on(busy, busy_writer) == 200
    assert_quiet(logs)


async def test_slow_body_is_cut_off(
    short_timeouts: None, start_bot: StartBot, logs: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    async with connection(bot) as (reader, writer):
        writer.write(
            b"POST /tencent/webhook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        # one byte every 0.1 s: the whole body would take 100 s
        answer = asyncio.ensure_future(reader.readline())
        started = time.monotonic()
        while not answer.done() and time.monotonic() - started < 3:
            with contextlib.suppress(ConnectionError):
                writer.write(b" ")
                await writer.drain()
            await asyncio.sleep(0.1)
        assert answer.done(), "the server was still waiting for the body after 3 s"
        assert answer.result().startswith(b"HTTP/1.1 408")
        assert await closed_by_server(reader, within=1), "the slow client's connection stays open"
    assert_quiet(logs)
