"""What the public HTTP port does with requests that are not what they should be.

A public endpoint gets junk as a matter of course: unsigned or garbled bodies, clients that hang up
mid-body, connections that never send a request, bodies trickled in a byte at a time. None of that is
a fault of the bot, so none of it gets a 500, a traceback or an ERROR line:

- `bolt_request` checks Slack's signature over the raw bytes before anything looks inside them
  (401 when it is missing, wrong, stale or its timestamp is not a number), then decodes and parses
  the body itself (400 when a correctly signed body cannot be read) and only then hands Bolt a
  request. Bolt's own verification stays on behind it.
- `install` puts a middleware on the web app that reads every request body under `BODY_TIMEOUT`
  (408 past it, 400 for a broken gzip or chunked body) and notes a client that went away mid-body
  in one INFO line; it also turns aiohttp's own ERROR-with-traceback for a request it cannot parse
  (and answers 400) into one INFO line.
- `app_runner` serves the app with aiohttp's keep-alive timeout, and closes connections that have
  not sent a complete request within `HEAD_TIMEOUT` of being opened.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import hashlib
import hmac
import logging
import time
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from pydantic import SecretStr
from slack_bolt.request.async_request import AsyncBoltRequest

log = logging.getLogger(__name__)

#: A new connection that has not sent a complete request head by then is closed (aiohttp's own
#: timer for this is its keep-alive timeout, which must stay long: see `KEEPALIVE_TIMEOUT`).
#: Closed between this and 1.25 times this. Tests shorten it.
HEAD_TIMEOUT = 20.0
#: The whole body of a request must arrive within this; Slack wants its answer within 3 s anyway.
BODY_TIMEOUT = 10.0
#: Idle time allowed between two requests on one connection. Longer than the idle timeout of the
#: balancers in front (Heroku's Router 2.0 keeps connections to dynos 90 s, AWS ALB 60 s by
#: default): a server that closes first races the balancer's next request and fails it.
KEEPALIVE_TIMEOUT = 100.0
#: Slack's rule: a signature more than five minutes from now is refused (a replay, or a bad clock).
MAX_SIGNATURE_AGE = 300

SLACK_TIMESTAMP = "X-Slack-Request-Timestamp"
SLACK_SIGNATURE = "X-Slack-Signature"
#: Slack sends UTF-8; a body in another charset would not match what Bolt's check re-encodes.
_UTF8_CHARSETS = frozenset({"utf-8", "ascii"})


# --- Slack: the signature over the raw bytes, then the body -------------------------------------


def slack_signature_refusal(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> str | None:
    """Why Slack's `v0` signature over `body` does not hold, or None when it does.

    The same check as `slack_sdk.signature.SignatureVerifier`, but over the raw bytes (the SDK's
    decodes them as UTF-8 first, and fails on a body that is not) and refusing instead of raising
    on a timestamp that is not a plain number or a signature that is not ASCII.
    """
    if not timestamp or not signature:
        return "no signature"
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return "timestamp is not a number"
    if abs(now - int(timestamp)) > MAX_SIGNATURE_AGE:
        return "stale signature"
    if not signature.isascii():
        return "bad signature"
    digest = hmac.new(secret.encode(), b"v0:", hashlib.sha256)
    digest.update(timestamp.encode())
    digest.update(b":")
    digest.update(body)
    expected = b"v0=" + digest.hexdigest().encode()
    if not hmac.compare_digest(expected, signature.encode()):
        return "bad signature"
    return None


class UnreadableBody(ValueError):
    """A correctly signed body that cannot be decoded or parsed."""


def parse_slack_body(
    body: bytes, charset: str | None, query: str, headers: Any
) -> AsyncBoltRequest:
    """The Bolt request for a signed body; `UnreadableBody` when it cannot be read."""
    try:
        codec = codecs.lookup(charset or "utf-8").name
    except LookupError:
        raise UnreadableBody(f"unknown charset {charset!r}") from None
    if codec not in _UTF8_CHARSETS:
        raise UnreadableBody(f"charset {charset!r} is not UTF-8")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableBody(f"body is not UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        # Bolt parses JSON and form bodies (and a form's JSON `payload`) while building the request.
        request = AsyncBoltRequest(body=text, query=query, headers=headers)
    except RecursionError:
        raise UnreadableBody("body nested too deeply") from None
    except Exception as error:  # what a parser raises on junk: ValueError, AttributeError, ...
        raise UnreadableBody(f"body cannot be parsed ({type(error).__name__})") from None
    if not isinstance(request.body, dict):
        raise UnreadableBody("body is not an object")
    return request


async def bolt_request(request: web.Request, signing_secret: SecretStr | None) -> AsyncBoltRequest:
    """The Bolt request for a POST to /slack/events, or an HTTP 401/400 raised without a traceback.

    Replaces `slack_bolt.adapter.aiohttp.to_bolt_request`, which parses (and decodes, by the
    client's charset) before anything is verified.
    """
    body = await request.read()
    refusal = (
        "no signing secret configured"
        if signing_secret is None
        else slack_signature_refusal(
            signing_secret.get_secret_value(),
            request.headers.get(SLACK_TIMESTAMP),
            request.headers.get(SLACK_SIGNATURE),
            body,
            time.time(),
        )
    )
    if refusal is not None:
        # Internet noise (or a bad clock): one line, at INFO.
        log.info("Slack request from %s refused (401): %s", request.remote, refusal)
        raise web.HTTPUnauthorized(
            text='{"error": "invalid request"}', content_type="application/json"
        )
    try:
        return parse_slack_body(body, request.charset, request.query_string, request.headers)
    except UnreadableBody as error:
        # Signed by Slack and still unreadable is worth noticing, but it is not our failure.
        log.warning("signed Slack request refused (400): %s", error)
        raise web.HTTPBadRequest(text=str(error)) from None


# --- every request: the body in time, and clients that go away ------------------------------------


class ConnectionGuard:
    """Tracks which connections have sent a request, reads bodies under a deadline, and closes
    connections that stay silent past `HEAD_TIMEOUT`."""

    def __init__(self) -> None:
        #: connections that have sent at least one complete request head
        self._spoke: set[RequestHandler] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self._spoke.add(request.protocol)
        if request.body_exists and request.match_info.http_exception is None:
            # A body that has all arrived (a Slack request, nearly always) needs no deadline.
            arrived = request.content.is_eof()
            try:
                async with contextlib.nullcontext() if arrived else asyncio.timeout(BODY_TIMEOUT):
                    await request.read()  # kept by the request: the handler's read() returns it
            except TimeoutError:
                _client_fault(request, f"body not received within {BODY_TIMEOUT:g} s (408)")
                return await _answer_and_close(request, 408, "request body too slow")
            except ConnectionError as error:
                # Nobody is left to read an answer: aiohttp drops this one quietly.
                _client_fault(request, f"client went away mid-body ({error})")
                return web.Response(status=400, text="incomplete request body")
            except (RequestPayloadError, HttpProcessingError) as error:  # bad gzip, bad chunking
                _client_fault(request, f"unreadable body (400): {error}")
                return await _answer_and_close(request, 400, "unreadable request body")
        return await handler(request)

    def start(self, server: web.Server) -> None:
        self._sweeper = asyncio.create_task(self._close_silent(server), name="silent connections")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def _close_silent(self, server: web.Server) -> None:
        # aiohttp's only timer for a connection that sends nothing is its keep-alive timeout, which
        # must stay long for the balancers in front, and it has no public hook at accept time for
        # a timer of our own: so one sweep every HEAD_TIMEOUT/8 over its list of connections.
        loop = asyncio.get_running_loop()
        first_seen: dict[RequestHandler, float] = {}
        while True:
            timeout = HEAD_TIMEOUT
            await asyncio.sleep(timeout / 8)
            now = loop.time()
            live = server.connections
            self._spoke.intersection_update(live)
            first_seen = {c: first_seen.get(c, now) for c in live if c not in self._spoke}
            silent = [c for c, seen in first_seen.items() if now - seen >= timeout]
            for connection in silent:
                connection.force_close()
                del first_seen[connection]
            if silent:
                log.info(
                    "closed %d connections that sent no request within %g s", len(silent), timeout
                )


def _client_fault(request: web.Request, what: str) -> None:
    what = " ".join(what.split())  # one line, whatever the exception's text holds
    log.info("%s %s from %s: %s", request.method, request.path, request.remote, what)


async def _answer_and_close(request: web.Request, status: int, text: str) -> web.Response:
    """Answer, then close the connection at once rather than read the rest of the body.

    (aiohttp would otherwise linger reading it: ten more seconds of a slow body, or the payload
    error of a broken one again, logged as an unhandled exception.)
    """
    response = web.Response(status=status, text=text)
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()  # the answer is flushed before the socket closes
    return response


class _ClientErrorsQuietly(logging.Filter):
    """aiohttp answers an unparseable request (bad request line, header or chunk size) with 400
    itself, but logs it as an ERROR with a traceback: make that one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.exc_info:
            error = record.exc_info[1]
            if isinstance(error, HttpProcessingError):
                reason = " ".join(str(error.message).split())
                record.msg = f"{record.getMessage()}: malformed request (400): {reason}"
                record.args = None
                record.exc_info = record.exc_text = None
                record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _quiet_aiohttp_client_errors() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _ClientErrorsQuietly) for f in server_log.filters):
        server_log.addFilter(_ClientErrorsQuietly())


GUARD = web.AppKey("http_guard", ConnectionGuard)


def install(app: web.Application) -> None:
    """Put the guard's middleware first on `app` (before it is frozen by a runner)."""
    guard = ConnectionGuard()
    app[GUARD] = guard
    app.middlewares.insert(0, guard.middleware)
    _quiet_aiohttp_client_errors()


class _GuardedRunner(web.AppRunner):
    async def setup(self) -> None:
        await super().setup()
        guard = self.app.get(GUARD)
        if guard is not None and self.server is not None:
            guard.start(self.server)

    async def cleanup(self) -> None:
        guard = self.app.get(GUARD)
        if guard is not None:
            await guard.stop()
        await super().cleanup()


def app_runner(app: web.Application) -> web.AppRunner:
    """The runner to serve `app` with: no access log, our timeouts, silent connections closed."""
    return _GuardedRunner(app, access_log=None, keepalive_timeout=KEEPALIVE_TIMEOUT)
