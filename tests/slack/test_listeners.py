"""The Bolt listeners in isolation: a real `AsyncApp` with only our listeners registered, requests
dispatched to it as Bolt would receive them, the core on the in-memory storage, and Slack's Web API
and `response_url` mocked at the HTTP edge (aioresponses)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aioresponses import CallbackResult
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from yarl import URL

from bot.core.home import HomeSummary
from bot.core.identity import Identity
from bot.core.in_flight import InFlight
from bot.core.lookup import ReplayLookup
from bot.core.meetings import MeetingRef
from bot.core.recent import RecentMeetings
from bot.core.records import LinkMethod
from bot.core.seen import SeenSlackEvents
from bot.core.storage import Storage, StorageUnavailable
from bot.core.subscriptions import DigestSettings
from bot.core.visibility import MeetingAccess
from bot.i18n import t
from bot.metrics import Metrics
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers, Reply
from bot.slack.app import SlackParts, install_listeners
from bot.slack.caller import Caller, IncomingCaller
from bot.slack.ids import SHARE_ACTION_ID
from bot.slack.poster import SlackPoster
from bot.slack.profiles import SlackProfiles
from bot.slack.render.messages import lookup_ack_text
from bot.slack.render.share import share_value
from bot.slack.responder import Responder
from bot.store.memory import memory_storage
from tests.fakes.core import Clock, ReplayBook, meeting, replay
from tests.fakes.http_mock import HttpMock

API = "https://slack.test/api/"
RESPONSE_URL = "https://hooks.slack.test/commands/T1/1/secret"
CODE = "806146667"
REPLAY_URL = "https://meeting.tencent.com/l/1"


class Listening:
    """An app with the caller middleware and the listeners installed as `bot.slack.app` does."""

    def __init__(self, storage: Storage, book: ReplayBook, session: aiohttp.ClientSession) -> None:
        client = AsyncWebClient(token="xoxb-test", base_url=API, session=session)
        self.in_flight = InFlight()
        lookup = ReplayLookup(book, clock=Clock())
        profiles = SlackProfiles(client)
        identity = Identity(
            storage.links,
            profiles,
            profiles,
            operator_id=None,
            admins=frozenset(),  # type: ignore[arg-type]
        )
        settings = DigestSettings(identity, lookup, storage.subscriptions, storage.preferences)
        access = MeetingAccess(
            identity, lookup, storage.meetings, storage.visibility, storage.links
        )
        answers = Answers(
            identity, access, settings, RecentMeetings(book, lookup, storage.meetings)
        )
        self.app = AsyncApp(
            client=client,
            signing_secret="unused",
            request_verification_enabled=False,
            process_before_response=True,
        )
        self.responder = Responder(session)
        parts = SlackParts(
            answers=answers,
            access=access,
            profiles=profiles,
            poster=SlackPoster(client),
            responder=self.responder,
            seen=SeenSlackEvents(storage.events),
            in_flight=self.in_flight,
            home=HomeSummary(
                identity,
                access,
                RecentMeetings(book, lookup, storage.meetings),
                storage.subscriptions,
                storage.preferences,
            ),
            settings=settings,
        )
        install_listeners(self.app, parts, Metrics())

    async def dispatch(self, body: str, content_type: str) -> tuple[int, str]:
        status, acknowledgement = await self.acknowledge(body, content_type)
        assert await self.in_flight.drain(5), "a listener is still running"
        return status, acknowledgement

    async def acknowledge(self, body: str, content_type: str) -> tuple[int, str]:
        """Bolt's response (the acknowledgement), without waiting for the work after it."""
        request = AsyncBoltRequest(body=body, headers={"content-type": [content_type]})
        response = await asyncio.wait_for(self.app.async_dispatch(request), 2)
        return response.status, response.body

    async def command(
        self, text: str, user_id: str = "U1", *, command: str = "/replays"
    ) -> tuple[int, str]:
        return await self.dispatch(*self.command_form(text, user_id, command))

    def command_form(self, text: str, user_id: str, command: str = "/replays") -> tuple[str, str]:
        form = {
            "command": command,
            "text": text,
            "user_id": user_id,
            "team_id": "T1",
            "channel_id": "C1",
            "response_url": RESPONSE_URL,
            "trigger_id": "1.2.3",
            "api_app_id": "A1",
        }
        return urlencode(form), "application/x-www-form-urlencoded"

    async def event(self, event: dict[str, Any], event_id: str) -> tuple[int, str]:
        body = {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event": event}
        return await self.dispatch(json.dumps(body), "application/json")


def posted(http_mock: HttpMock, url: str) -> list[dict[str, Any]]:
    """The JSON bodies posted to `url`, in order."""
    calls = http_mock.requests.get(("POST", URL(url)), [])
    return [json.loads(call.kwargs["data"]) for call in calls]


def slack_api(http_mock: HttpMock, method: str) -> list[dict[str, Any]]:
    """The form fields of each call to a Web API method."""
    wanted = URL(f"{API}{method}")
    return [
        dict(call.kwargs.get("json") or call.kwargs.get("data") or {})
        for (verb, url), calls in http_mock.requests.items()
        if verb == "POST" and url.with_query(None) == wanted
        for call in calls
    ]


class SlackUsers:
    """Slack's `users.info`: each user's locale (en-US unless set), answered once `open` is set."""

    def __init__(self) -> None:
        self.locales: dict[str, str] = {}
        self.open = asyncio.Event()
        self.open.set()
        self.answered: list[str] = []

    async def answer(self, url: URL, **kwargs: Any) -> CallbackResult:
        user = str((kwargs.get("params") or {}).get("user") or url.query.get("user"))
        await self.open.wait()
        self.answered.append(user)
        locale = self.locales.get(user, "en-US")
        return CallbackResult(payload={"ok": True, "user": {"id": user, "locale": locale}})


@pytest.fixture
def slack_profiles() -> SlackUsers:
    return SlackUsers()


@pytest.fixture
async def listening(
    http_mock: HttpMock, book: ReplayBook, slack_profiles: SlackUsers
) -> AsyncIterator[Listening]:
    # Bolt asks who the bot is on its first request.
    http_mock.post(
        re.compile(rf"{re.escape(API)}auth\.test(\?.*)?$"),
        payload={"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"},
        repeat=True,
    )
    http_mock.get(
        re.compile(rf"{re.escape(API)}users\.info(\?.*)?$"),
        callback=slack_profiles.answer,
        repeat=True,
    )
    http_mock.post(RESPONSE_URL, body="ok", repeat=True)
    http_mock.post(f"{API}chat.postMessage", payload={"ok": True, "ts": "1.1"}, repeat=True)
    http_mock.post(f"{API}chat.postEphemeral", payload={"ok": True}, repeat=True)
    storage = memory_storage()
    await storage.links.save("T1", "U1", "alice", method=LinkMethod.ADMIN, linked_by="UADMIN")
    book.add("alice", meeting("1" * 19, CODE, replay(1)))
    async with aiohttp.ClientSession() as session:
        yield Listening(storage, book, session)


async def test_a_lookup_is_acknowledged_at_once_and_answered_at_the_response_url(
    listening: Listening, http_mock: HttpMock
) -> None:
    status, body = await listening.command(CODE)
    assert status == 200
    assert json.loads(body)["text"] == lookup_ack_text([MeetingRef("code", CODE)], "en")
    [answer] = posted(http_mock, RESPONSE_URL)
    assert answer["response_type"] == "ephemeral"
    assert REPLAY_URL in json.dumps(answer["blocks"])


async def test_a_full_house_turns_a_lookup_away_in_the_ack_and_sends_nothing_more(
    listening: Listening, http_mock: HttpMock, book: ReplayBook
) -> None:
    listening.in_flight.limit = 0
    status, body = await listening.command(CODE)
    assert (status, json.loads(body)["text"]) == (200, t("overloaded", "en"))
    assert posted(http_mock, RESPONSE_URL) == []
    assert book.calls == 0


async def test_help_is_answered_even_when_the_house_is_full(
    listening: Listening, http_mock: HttpMock
) -> None:
    listening.in_flight.limit = 0
    status, body = await listening.command("help")
    assert (status, body) == (200, "")
    [answer] = posted(http_mock, RESPONSE_URL)
    assert answer["text"] == t("help", "en", status=t("status_linked", "en", userid="alice"))


async def test_a_mention_is_answered_once_in_its_thread_however_often_slack_sends_it(
    listening: Listening, http_mock: HttpMock
) -> None:
    mention = {
        "type": "app_mention",
        "user": "U1",
        "text": f"<@UBOT> {CODE}",
        "ts": "100.1",
        "channel": "C1",
        "event_ts": "100.1",
    }
    for _ in range(3):  # Slack retries an event it thinks was missed
        assert (await listening.event(mention, "Ev1"))[0] == 200
    [post] = slack_api(http_mock, "chat.postMessage")
    assert (post["channel"], post["thread_ts"]) == ("C1", "100.1")
    assert REPLAY_URL in json.dumps(post["blocks"])


async def test_only_the_person_who_looked_up_may_share_the_cards(
    listening: Listening, http_mock: HttpMock
) -> None:
    value = share_value([MeetingRef("code", CODE)], "U1")
    assert value is not None

    async def click(user: str) -> None:
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": "T1"},
            "response_url": RESPONSE_URL,
            "actions": [{"action_id": SHARE_ACTION_ID, "value": value, "type": "button"}],
        }
        form = urlencode({"payload": json.dumps(payload)})
        assert (await listening.dispatch(form, "application/x-www-form-urlencoded"))[0] == 200

    await click("U2")
    await click("U1")
    refused, shared, replaced = posted(http_mock, RESPONSE_URL)
    assert refused["text"] == t("share_refused_not_requester", "en")
    assert shared["response_type"] == "in_channel"
    assert REPLAY_URL in json.dumps(shared["blocks"])
    # The sharer's card is replaced, so that it cannot be shared twice.
    assert replaced["replace_original"] is True
    assert replaced["text"] == t("share_done", "en")


async def test_a_first_time_caller_is_acknowledged_before_their_profile_is_read(
    listening: Listening, http_mock: HttpMock, slack_profiles: SlackUsers
) -> None:
    slack_profiles.locales["U1"] = "zh-CN"
    slack_profiles.open.clear()  # Slack has not answered users.info yet
    status, body = await listening.acknowledge(*listening.command_form(CODE, "U1"))
    # Acknowledged without the profile: in English, the only language known without asking.
    assert (status, json.loads(body)["text"]) == (
        200,
        lookup_ack_text([MeetingRef("code", CODE)], "en"),
    )
    assert slack_profiles.answered == [] and posted(http_mock, RESPONSE_URL) == []

    slack_profiles.open.set()
    assert await listening.in_flight.drain(5)
    assert slack_profiles.answered == ["U1"]
    [answer] = posted(http_mock, RESPONSE_URL)
    assert REPLAY_URL in json.dumps(answer["blocks"])
    # Now the profile is known: the next answer is the acknowledgement itself, in Chinese.
    status, body = await listening.command("help", "U1")
    expected = t("help", "zh", status=t("status_linked", "zh", userid="alice"))
    assert (status, json.loads(body)["text"]) == (200, expected)
    assert slack_profiles.answered == ["U1"]


async def test_work_that_fails_after_the_ack_answers_the_generic_error_in_the_callers_language(
    listening: Listening, http_mock: HttpMock, slack_profiles: SlackUsers
) -> None:
    slack_profiles.locales["U2"] = "zh-CN"
    after_ack = AfterAck(listening.in_flight, Metrics())

    async def broken(ack: AsyncAck, command: dict[str, Any], caller: IncomingCaller) -> None:
        await ack()

        async def work(person: Caller) -> Reply:
            raise RuntimeError("the work broke")

        async def send(reply: Reply) -> None:
            await listening.responder.send_all(command["response_url"], reply.messages)

        after_ack.answer(caller, work, send)

    listening.app.command("/broken")(broken)
    assert await listening.command("", "U2", command="/broken") == (200, "")
    [answer] = posted(http_mock, RESPONSE_URL)
    assert answer["text"] == t("error_generic", "zh")
    assert answer["response_type"] == "ephemeral"


async def test_work_that_meets_a_database_outage_says_so_without_a_traceback(
    listening: Listening,
    http_mock: HttpMock,
    slack_profiles: SlackUsers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack_profiles.locales["U2"] = "zh-CN"
    after_ack = AfterAck(listening.in_flight, Metrics())

    async def needs_the_database(
        ack: AsyncAck, command: dict[str, Any], caller: IncomingCaller
    ) -> None:
        await ack()

        async def work(person: Caller) -> Reply:
            raise StorageUnavailable("connection refused")

        async def send(reply: Reply) -> None:
            await listening.responder.send_all(command["response_url"], reply.messages)

        after_ack.answer(caller, work, send)

    listening.app.command("/stored")(needs_the_database)
    assert await listening.command("", "U2", command="/stored") == (200, "")
    [answer] = posted(http_mock, RESPONSE_URL)
    assert answer["text"] == t("storage_unavailable", "zh")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


async def test_a_mention_is_answered_in_the_language_of_the_person_who_mentioned(
    listening: Listening, http_mock: HttpMock, slack_profiles: SlackUsers
) -> None:
    slack_profiles.locales["U3"] = "zh-CN"
    mention = {
        "type": "app_mention",
        "user": "U3",
        "text": "<@UBOT> help",
        "ts": "100.1",
        "channel": "C1",
        "event_ts": "100.1",
    }
    assert (await listening.event(mention, "Ev2"))[0] == 200
    [ephemeral] = slack_api(http_mock, "chat.postEphemeral")
    assert ephemeral["user"] == "U3"
    assert ephemeral["text"] == t("help", "zh", status=t("status_not_linked", "zh"))
