"""A fake Slack for tests: the Web API and `response_url` sink as a real local server, and a sender.

`FakeSlack` answers the Web API methods the bot uses on 127.0.0.1 the way Slack does (auth, Block
Kit validation, 429 with `Retry-After`, five uses per `response_url`) and records every call, post
and response so that tests assert on what Slack would have shown. `SlackSender` drives the app under
test with signed requests exactly as Slack sends them. This module is a pytest plugin: `fake_slack`
is a fixture.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest_asyncio
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from yarl import URL

from tests.fakes.block_kit import assert_valid_message, assert_valid_view

Params = dict[str, Any]
Handler = Callable[[Params], Awaitable[Params]]

#: how many times Slack accepts a post to one `response_url`
RESPONSE_URL_USES = 5
#: `rate_limit_next(RESPONSE_URL)` rate-limits posts to response_urls rather than a Web API method
RESPONSE_URL = "response_url"
_MESSAGE_KEYS = ("text", "blocks", "attachments")
_JSON_FIELDS = ("blocks", "attachments", "metadata")


@dataclass
class FakeUser:
    id: str
    name: str
    email: str | None = None
    locale: str = "en-US"
    is_bot: bool = False
    #: a multi-channel guest (`is_restricted`) or a single-channel one (`is_ultra_restricted`)
    is_restricted: bool = False
    is_ultra_restricted: bool = False

    def to_slack(self, team_id: str, *, include_locale: bool) -> Params:
        profile: Params = {"real_name": self.name, "display_name": self.name}
        if self.email is not None:
            profile["email"] = self.email
        user: Params = {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.name,
            "is_bot": self.is_bot,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": self.is_ultra_restricted,
            "deleted": False,
            "profile": profile,
        }
        if include_locale:
            user["locale"] = self.locale
        return user


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in {"1", "true"}


def _error(error: str, **extra: Any) -> Params:
    return {"ok": False, "error": error, **extra}


def _decode_json_fields(params: Params) -> Params:
    # Form-encoded calls carry blocks as a JSON string; tests want them as lists either way.
    for key in _JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str):
            # left as sent when it is not JSON: the validator will refuse it
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def _valid_metadata(metadata: Any) -> bool:
    """Slack's rules for message metadata: an event_type of lowercase letters, digits and
    underscores, and an object as event_payload."""
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return False
    if not isinstance(metadata, dict) or set(metadata) != {"event_type", "event_payload"}:
        return False
    event_type = metadata["event_type"]
    return (
        isinstance(event_type, str)
        and re.fullmatch(r"[a-z0-9_]{1,255}", event_type) is not None
        and isinstance(metadata["event_payload"], dict)
    )


def _token_of(url_or_token: str) -> str:
    return url_or_token.rstrip("/").rsplit("/", 1)[-1]


class FakeSlack:
    """Slack's Web API and `response_url`s on 127.0.0.1; start() before use, close() after."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        bot_id: str = "B0001",
        app_token: str = "xapp-1-A0001-test-app-token",
    ) -> None:
        self.bot_token = bot_token
        #: the app-level token Socket Mode connects with (apps.connections.open)
        self.app_token = app_token
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_acks: dict[str, asyncio.Future[Params]] = {}
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        #: every Web API call, in order, including refused and rate-limited ones
        self.calls: list[tuple[str, Params]] = []
        #: accepted chat.postMessage calls: the params plus resolved `channel`, `ts`, `time`
        self.posted: list[Params] = []
        self.ephemerals: list[Params] = []
        self.updates: list[Params] = []
        #: user → the Home view last published for them (views.publish)
        self.homes: dict[str, Params] = {}
        #: every message Slack would have refused: {"method", "payload", "error"}
        self.rejected: list[Params] = []
        #: `response_url` token → accepted JSON payloads
        self.responses: dict[str, list[Params]] = {}
        #: posts to a used-up or unknown `response_url`: (token, payload)
        self.refused_responses: list[tuple[str, Params]] = []
        #: posts to a `response_url` answered 429 by `rate_limit_next(RESPONSE_URL)`
        self.limited_responses: list[tuple[str, Params]] = []
        #: channel → time.monotonic() of each accepted chat.postMessage
        self.post_times: dict[str, list[float]] = defaultdict(list)
        self.users: dict[str, FakeUser] = {}
        #: channel → ts → stored message (for conversations.replies and chat.update)
        self.messages: dict[str, dict[str, Params]] = defaultdict(dict)
        self._rate_limits: dict[str, deque[int]] = defaultdict(deque)
        self._last_ts_micros = 0
        #: awaited after each accepted chat.postMessage, before the answer: a test's fault hook
        self.after_post: Callable[[Params], Awaitable[None]] | None = None
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.add_user(bot_user_id, name="replays", is_bot=True)

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{token}", self._response_url)
        app.router.add_get("/socket-mode", self._socket_mode)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """For `AsyncWebClient(base_url=...)` and the app's `SLACK_API_URL`."""
        return f"{self.base_url}/api/"

    # --- arranging -------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        locale: str = "en-US",
        name: str | None = None,
        is_bot: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
    ) -> FakeUser:
        user = FakeUser(
            user_id,
            name or user_id.lower(),
            email,
            locale,
            is_bot,
            is_restricted=is_restricted,
            is_ultra_restricted=is_ultra_restricted,
        )
        self.users[user_id] = user
        return user

    def seed_message(
        self, channel: str, ts: str, text: str, user: str, *, thread_ts: str | None = None
    ) -> Params:
        """Plant a message (a thread parent, or a reply when `thread_ts` is given)."""
        message: Params = {"type": "message", "user": user, "text": text, "ts": ts}
        if thread_ts is not None and thread_ts != ts:
            message["thread_ts"] = thread_ts
        self.messages[channel][ts] = message
        return message

    def rate_limit_next(self, method: str, n: int = 1, retry_after: int = 1) -> None:
        """Answer the next `n` calls of `method` with HTTP 429 and `Retry-After: retry_after`.

        `method` is a Web API method (`chat.postMessage`) or `response_url` for the next `n` posts
        to any response_url (refused posts do not count against its five uses).
        """
        self._rate_limits[method].extend([retry_after] * n)

    def new_response_url(self) -> str:
        token = secrets.token_hex(12)
        self.responses[token] = []
        return f"{self.base_url}/response/{token}"

    def dm_channel(self, user_id: str) -> str:
        """The DM channel between the bot and a user, as conversations.open names it."""
        return f"D{user_id}"

    def next_ts(self) -> str:
        """A message timestamp as Slack writes them: unique and increasing."""
        micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # --- asserting -------------------------------------------------------------------------------

    def posts_to(self, channel: str) -> list[Params]:
        channel = self._resolve_channel(channel)
        return [post for post in self.posted if post["channel"] == channel]

    def calls_to(self, method: str) -> list[Params]:
        return [params for name, params in self.calls if name == method]

    # The waits take a plain `timeout` (ASYNC109): tests read better than with a context manager.
    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10,  # noqa: ASYNC109
    ) -> None:
        """Wait for something recorded to become true; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_for_response(
        self,
        url_or_token: str,
        count: int = 1,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> list[Params]:
        """The payloads posted to a `response_url`, once at least `count` have arrived."""
        token = _token_of(url_or_token)
        try:
            await self.wait_until(lambda: len(self.responses.get(token, [])) >= count, timeout)
        except TimeoutError:
            got = self.responses.get(token, [])
            raise TimeoutError(
                f"{len(got)} of {count} responses after {timeout}s; rejected: {self.rejected}"
            ) from None
        return list(self.responses[token])

    async def wait_for_posts(
        self,
        count: int,
        timeout: float = 10,  # noqa: ASYNC109
        channel: str | None = None,
    ) -> list[Params]:
        """The chat.postMessage posts (to `channel`, or anywhere), once at least `count` exist."""

        def matching() -> list[Params]:
            return self.posted if channel is None else self.posts_to(channel)

        try:
            await self.wait_until(lambda: len(matching()) >= count, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"{len(matching())} of {count} posts after {timeout}s; rejected: {self.rejected}"
            ) from None
        return list(matching())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- the Web API -----------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await self._params_of(request)
        except ValueError:
            self.calls.append((method, {}))
            return web.json_response(_error("invalid_json"))
        self.calls.append((method, params))
        limited = self._rate_limits.get(method)
        if limited:
            retry_after = limited.popleft()
            return web.json_response(
                _error("ratelimited"), status=429, headers={"Retry-After": str(retry_after)}
            )
        auth_error = self._auth_error(request, params)
        if auth_error:
            return web.json_response(_error(auth_error))
        handler = self._handlers().get(method)
        if handler is None:
            return web.json_response(_error("unknown_method", req_method=method))
        result = await handler(params)
        await self._notify()
        headers = {"x-oauth-scopes": "commands,chat:write"} if method == "auth.test" else None
        return web.json_response(result, headers=headers)

    async def _params_of(self, request: web.Request) -> Params:
        # slack_sdk sends some methods as JSON, some form-encoded, some as GET query strings.
        params: Params = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return _decode_json_fields(params)

    def _auth_error(self, request: web.Request, params: Params) -> str | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header else str(params.get("token", ""))
        if not token:
            return "not_authed"
        # Socket Mode's connection call takes the app-level token, every other method the bot's.
        expected = (
            self.app_token
            if request.match_info["method"] == "apps.connections.open"
            else self.bot_token
        )
        return None if secrets.compare_digest(token, expected) else "invalid_auth"

    def _handlers(self) -> dict[str, Handler]:
        return {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "conversations.open": self._conversations_open,
            "conversations.replies": self._conversations_replies,
            "views.publish": self._views_publish,
            "conversations.history": self._conversations_history,
            "apps.connections.open": self._connections_open,
        }

    # --- Socket Mode -----------------------------------------------------------------------------

    async def _connections_open(self, params: Params) -> Params:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket-mode"}

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=None)
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": len(self._sockets)})
        await self._notify()
        try:
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                waiter = self._socket_acks.pop(str(ack.get("envelope_id")), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
        finally:
            self._sockets.remove(socket)
        return socket

    @property
    def socket_connections(self) -> int:
        return len(self._sockets)

    async def send_over_socket(
        self,
        kind: str,
        payload: Params,
        *,
        timeout: float = 5,  # noqa: ASYNC109
    ) -> Params:
        """Send one Socket Mode envelope (`slash_commands`, `events_api`, `interactive`) to the
        connected app and return its acknowledgement (`{"envelope_id", "payload"?}`)."""
        if not self._sockets:
            raise RuntimeError("no app is connected over Socket Mode")
        envelope_id = str(uuid.uuid4())
        waiter: asyncio.Future[Params] = asyncio.get_running_loop().create_future()
        self._socket_acks[envelope_id] = waiter
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(waiter, timeout)

    def slash_command_payload(
        self, text: str, *, user_id: str = "U1", channel_id: str = "C1", command: str = "/replays"
    ) -> Params:
        """A slash command as Slack describes it (the same fields as the HTTP form)."""
        return {
            "team_id": self.team_id,
            "team_domain": "fake-team",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": self.users[user_id].name if user_id in self.users else user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": self.new_response_url(),
            "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}",
        }

    async def _auth_test(self, params: Params) -> Params:
        return {
            "ok": True,
            "url": "https://fake-team.slack.com/",
            "team": "Fake Team",
            "user": self.users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    async def _users_info(self, params: Params) -> Params:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            return _error("user_not_found")
        include_locale = _truthy(params.get("include_locale"))
        return {"ok": True, "user": user.to_slack(self.team_id, include_locale=include_locale)}

    def _resolve_channel(self, channel: str) -> str:
        # Posting to a user ID lands in the bot's DM with that user.
        return self.dm_channel(channel) if channel[:1] in {"U", "W"} else channel

    def _refusal(self, method: str, params: Params) -> Params | None:
        """Slack's error for a message it would refuse, recorded in `rejected`; None if fine."""
        if not params.get("channel"):
            return _error("channel_not_found")
        error = self._invalid_message(params)
        if error is None:
            return None
        self.rejected.append({"method": method, "payload": params, "error": error})
        return _error("invalid_blocks", errors=[error])

    @staticmethod
    def _invalid_message(payload: Params) -> str | None:
        message = {key: payload[key] for key in _MESSAGE_KEYS if key in payload}
        try:
            assert_valid_message(message)
        except Exception as error:  # whatever the validator trips on, Slack would refuse it
            return f"{type(error).__name__}: {error}"
        return None

    def _store(self, channel: str, params: Params, *, ts: str) -> Params:
        message: Params = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": params.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key) is not None:
                message[key] = params[key]
        self.messages[channel][ts] = message
        return message

    async def _post_message(self, params: Params) -> Params:
        refusal = self._refusal("chat.postMessage", params)
        if refusal:
            return refusal
        if params.get("metadata") is not None and not _valid_metadata(params["metadata"]):
            self.rejected.append(
                {"method": "chat.postMessage", "payload": params, "error": "invalid_metadata"}
            )
            return _error("invalid_metadata")
        channel = self._resolve_channel(str(params["channel"]))
        ts = self.next_ts()
        message = self._store(channel, params, ts=ts)
        now = time.monotonic()
        self.posted.append(
            {
                **params,
                "channel": channel,
                "thread_ts": params.get("thread_ts"),
                "text": params.get("text"),
                "blocks": params.get("blocks"),
                "ts": ts,
                "time": now,
                "is_dm": channel.startswith("D"),
            }
        )
        self.post_times[channel].append(now)
        if self.after_post is not None:
            # A fault hook: the post is accepted (stored) before it runs, as Slack would have it.
            await self.after_post(self.posted[-1])
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    async def _post_ephemeral(self, params: Params) -> Params:
        if not params.get("user"):
            return _error("user_not_found")
        refusal = self._refusal("chat.postEphemeral", params)
        if refusal:
            return refusal
        ts = self.next_ts()
        self.ephemerals.append({**params, "message_ts": ts, "time": time.monotonic()})
        return {"ok": True, "message_ts": ts}

    async def _update(self, params: Params) -> Params:
        refusal = self._refusal("chat.update", params)
        if refusal:
            return refusal
        channel, ts = str(params["channel"]), str(params.get("ts", ""))
        stored = self.messages.get(channel, {}).get(ts)
        if stored is None:
            return _error("message_not_found")
        for key in ("text", "blocks", "attachments"):
            if key in params:
                stored[key] = params[key]
        self.updates.append({**params, "time": time.monotonic()})
        return {"ok": True, "channel": channel, "ts": ts, "text": stored["text"], "message": stored}

    async def _views_publish(self, params: Params) -> Params:
        user_id = str(params.get("user_id", ""))
        if user_id not in self.users:
            return _error("user_not_found")
        view = params.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                return _error("invalid_arguments")
        try:
            assert_valid_view(view)
        except AssertionError as error:
            self.rejected.append(
                {"method": "views.publish", "payload": params, "error": str(error)}
            )
            return _error("invalid_arguments", response_metadata={"messages": [str(error)]})
        self.homes[user_id] = view
        return {"ok": True, "view": {"id": f"V{user_id}", **view}}

    async def _conversations_open(self, params: Params) -> Params:
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if len(users) != 1:
            return _error("users_list_not_supplied" if not users else "not_supported")
        return {"ok": True, "channel": {"id": self.dm_channel(users[0])}}

    async def _conversations_history(self, params: Params) -> Params:
        """Top-level messages, newest first; `oldest` and `limit` as Slack reads them, and the
        metadata only with `include_all_metadata`."""
        channel = str(params.get("channel", ""))
        if not channel:
            return _error("channel_not_found")
        oldest = float(params.get("oldest") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 1000))
        with_metadata = _truthy(params.get("include_all_metadata"))
        stored = self.messages.get(channel, {}).values()
        top = [m for m in stored if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]
        top = sorted((m for m in top if float(m["ts"]) > oldest), key=lambda m: -float(m["ts"]))
        shown = [
            m if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
            for m in top[:limit]
        ]
        return {"ok": True, "messages": shown, "has_more": len(top) > limit}

    async def _conversations_replies(self, params: Params) -> Params:
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        stored = self.messages.get(channel, {})
        if ts not in stored:
            return _error("thread_not_found")
        root = stored[ts].get("thread_ts", ts)
        thread = [m for m in stored.values() if m["ts"] == root or m.get("thread_ts") == root]
        thread.sort(key=lambda m: float(m["ts"]))
        return {"ok": True, "messages": thread, "has_more": False}

    # --- response_url ----------------------------------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        try:
            payload = await request.json()
        except ValueError:
            return web.json_response(_error("invalid_json"), status=400)
        limited = self._rate_limits.get(RESPONSE_URL)
        if limited:
            retry_after = limited.popleft()
            self.limited_responses.append((token, payload))
            await self._notify()
            return web.json_response(
                _error("rate_limited"), status=429, headers={"Retry-After": str(retry_after)}
            )
        if not isinstance(payload, dict):
            return web.json_response(_error("invalid_payload"), status=400)
        accepted = self.responses.get(token)
        if accepted is None or len(accepted) >= RESPONSE_URL_USES:
            self.refused_responses.append((token, payload))
            await self._notify()
            gone = "expired_url" if accepted is None else "used_url"
            return web.json_response(_error(gone), status=404)
        if not _truthy(payload.get("delete_original")):
            invalid = self._invalid_message(payload)
            if invalid is not None:
                self.rejected.append(
                    {"method": "response_url", "payload": payload, "error": invalid}
                )
                await self._notify()
                return web.json_response(_error("invalid_blocks", errors=[invalid]), status=400)
        accepted.append(payload)
        await self._notify()
        return web.json_response({"ok": True})


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started FakeSlack, closed after the test."""
    fake = FakeSlack()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


# --- driving the app as Slack does ----------------------------------------------------------------


@dataclass(frozen=True)
class SlackReply:
    """What the app answered to one request from Slack."""

    status: int
    text: str
    elapsed: float
    headers: Mapping[str, str] = field(default_factory=dict)
    #: the `response_url` the request carried, to wait on with FakeSlack.wait_for_response
    response_url: str | None = None

    def json(self) -> Any:
        return json.loads(self.text)


class SlackSender:
    """Sends slash commands, events and interactions to the app, signed like Slack signs them.

    `app_url` is the app's `/slack/events` URL; a bare `http://host:port` gets that path added.
    `timestamp`/`signature` overrides test refusals; an empty string leaves that header out.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        app_url: str,
        signing_secret: str,
        fake: FakeSlack,
    ) -> None:
        url = URL(app_url)
        self.url = str(url.with_path("/slack/events")) if url.path in {"", "/"} else app_url
        self._session = session
        self._verifier = SignatureVerifier(signing_secret)
        self._fake = fake
        self.api_app_id = "A0001"

    async def slash_command(
        self,
        text: str,
        *,
        user_id: str = "U1",
        channel_id: str = "C1",
        command: str = "/replays",
        response_url: str | None = None,
        timestamp: str | int | None = None,
        signature: str | None = None,
    ) -> SlackReply:
        response_url = response_url or self._fake.new_response_url()
        form = {
            "team_id": self._fake.team_id,
            "team_domain": "fake-team",
            "channel_id": channel_id,
            "channel_name": "directmessage" if channel_id.startswith("D") else "general",
            "user_id": user_id,
            "user_name": self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self._trigger_id(),
        }
        reply = await self._send(
            urlencode(form).encode(),
            "application/x-www-form-urlencoded",
            timestamp=timestamp,
            signature=signature,
        )
        return _with_response_url(reply, response_url)

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: str | int | None = None,
        signature: str | None = None,
    ) -> SlackReply:
        """An `event_callback`; `retry_num` marks it as Slack's n-th redelivery."""
        envelope = {
            "team_id": self._fake.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self._fake.team_id,
                    "user_id": self._fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self._send(
            json.dumps(envelope).encode(),
            "application/json",
            timestamp=timestamp,
            signature=signature,
            headers=headers,
        )

    async def app_mention(
        self,
        text: str,
        *,
        user_id: str,
        channel: str,
        ts: str | None = None,
        thread_ts: str | None = None,
        event_id: str | None = None,
        retry_num: int | None = None,
    ) -> SlackReply:
        """A mention of the bot; `<@UBOT> ` is put in front unless `text` mentions it already.

        The message is also stored in the fake, as it would be in the channel.
        """
        mention = f"<@{self._fake.bot_user_id}>"
        text = text if mention in text else f"{mention} {text}"
        ts = ts or self._fake.next_ts()
        self._fake.seed_message(channel, ts, text, user_id, thread_ts=thread_ts)
        event: Params = {
            "type": "app_mention",
            "client_msg_id": str(uuid.uuid4()),
            "user": user_id,
            "text": text,
            "ts": ts,
            "team": self._fake.team_id,
            "channel": channel,
            "event_ts": ts,
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        return await self.event(event, event_id=event_id, retry_num=retry_num)

    async def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str,
        channel_id: str,
        response_url: str | None = None,
        container: dict[str, Any] | None = None,
        block_id: str = "actions",
        timestamp: str | int | None = None,
        signature: str | None = None,
    ) -> SlackReply:
        """A button click (block_actions), by default on an ephemeral message."""
        response_url = response_url or self._fake.new_response_url()
        container = container or {
            "type": "message",
            "message_ts": self._fake.next_ts(),
            "channel_id": channel_id,
            "is_ephemeral": True,
        }
        payload: Params = {
            "type": "block_actions",
            "user": {
                "id": user_id,
                "username": self._user_name(user_id),
                "name": self._user_name(user_id),
                "team_id": self._fake.team_id,
            },
            "api_app_id": self.api_app_id,
            "container": container,
            "trigger_id": self._trigger_id(),
            "team": {"id": self._fake.team_id, "domain": "fake-team"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": "general"},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "text": {"type": "plain_text", "text": value, "emoji": True},
                    "value": value,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        reply = await self._send(
            urlencode({"payload": json.dumps(payload)}).encode(),
            "application/x-www-form-urlencoded",
            timestamp=timestamp,
            signature=signature,
        )
        return _with_response_url(reply, response_url)

    async def app_home_opened(self, *, user_id: str) -> SlackReply:
        """The person opened the bot's Home tab."""
        event: Params = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self._fake.dm_channel(user_id),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        return await self.event(event)

    async def message_shortcut(
        self,
        callback_id: str,
        message_text: str,
        *,
        user_id: str,
        channel_id: str = "C1",
        response_url: str | None = None,
    ) -> SlackReply:
        """A message shortcut used on a message saying `message_text` (as Slack sends it)."""
        response_url = response_url or self._fake.new_response_url()
        ts = self._fake.next_ts()
        payload: Params = {
            "type": "message_action",
            "token": "unused",
            "action_ts": f"{time.time():.6f}",
            "team": {"id": self._fake.team_id, "domain": "fake-team"},
            "user": {
                "id": user_id,
                "name": self._user_name(user_id),
                "team_id": self._fake.team_id,
            },
            "channel": {"id": channel_id, "name": "general"},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self._trigger_id(),
            "response_url": response_url,
            "message_ts": ts,
            "message": {"type": "message", "user": "UOTHER", "text": message_text, "ts": ts},
        }
        reply = await self._send(
            urlencode({"payload": json.dumps(payload)}).encode(),
            "application/x-www-form-urlencoded",
            timestamp=None,
            signature=None,
        )
        return _with_response_url(reply, response_url)

    def _user_name(self, user_id: str) -> str:
        user = self._fake.users.get(user_id)
        return user.name if user else user_id.lower()

    @staticmethod
    def _trigger_id() -> str:
        return f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"

    def _signed_headers(
        self, body: bytes, timestamp: str | int | None, signature: str | None
    ) -> dict[str, str]:
        stamp = str(int(time.time())) if timestamp is None else str(timestamp)
        if signature is None:
            signature = self._verifier.generate_signature(timestamp=stamp, body=body) or ""
        headers = {}
        if stamp:
            headers["X-Slack-Request-Timestamp"] = stamp
        if signature:
            headers["X-Slack-Signature"] = signature
        return headers

    async def _send(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: str | int | None,
        signature: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> SlackReply:
        all_headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **self._signed_headers(body, timestamp, signature),
            **(headers or {}),
        }
        started = time.perf_counter()
        async with self._session.post(self.url, data=body, headers=all_headers) as response:
            text = await response.text()
            elapsed = time.perf_counter() - started
            return SlackReply(response.status, text, elapsed, dict(response.headers))


def _with_response_url(reply: SlackReply, response_url: str) -> SlackReply:
    return SlackReply(reply.status, reply.text, reply.elapsed, reply.headers, response_url)
