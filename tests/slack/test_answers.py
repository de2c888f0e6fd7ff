"""What `/replays` answers, command by command, on the in-memory storage and a Tencent replay
source that answers from a dict: the core decides, `Answers` only words the results."""

from __future__ import annotations

import pytest

from bot.core.identity import Identity, TencentDirectory
from bot.core.lookup import ReplayLookup
from bot.core.parsing import parse_command
from bot.core.recent import RecentMeetings
from bot.core.records import LinkMethod
from bot.core.storage import Storage
from bot.core.subscriptions import DigestSettings
from bot.core.visibility import MeetingAccess
from bot.i18n import t
from bot.meeting import errors
from bot.meeting.models import TencentUser
from bot.slack.answers import Answers, Reply
from bot.slack.caller import Caller
from bot.store.memory import memory_storage
from tests.fakes.core import Clock, ReplayBook, meeting, replay

CALLER = Caller(team_id="T1", user_id="U1", channel_id="C1", locale="en")
CODE = "806146667"


class NoDirectory:
    """Slack emails and a Tencent directory that is down."""

    async def email_of(self, user_id: str) -> str | None:
        return "alice@example.com"

    async def user_detail(self, userid: str, *, operator_id: str) -> TencentUser:
        raise errors.UnavailableError("down")

    async def list_users(self, *, operator_id: str) -> list[TencentUser]:
        raise errors.UnavailableError("down")


def answers(storage: Storage, book: ReplayBook, *, directory_down: bool = False) -> Answers:
    people = NoDirectory()
    lookup = ReplayLookup(book, clock=Clock())
    identity = Identity(
        storage.links,
        people,
        people,
        operator_id="admin" if directory_down else None,
        admins=frozenset({"UADMIN"}),
        directory=TencentDirectory(people, "admin") if directory_down else None,
    )
    settings = DigestSettings(identity, lookup, storage.subscriptions, storage.preferences)
    access = MeetingAccess(
        identity, lookup, storage.meetings, storage.visibility, storage.links, clock=Clock()
    )
    recent = RecentMeetings(book, lookup, storage.meetings, clock=Clock())
    return Answers(identity, access, settings, recent)


def text(reply: Reply) -> str:
    return "\n".join(str(message["text"]) for message in reply.messages)


async def ask(storage: Storage, book: ReplayBook, command: str, caller: Caller = CALLER) -> Reply:
    return await answers(storage, book).answer(parse_command(command), caller, shareable=True)


@pytest.fixture
def storage() -> Storage:
    return memory_storage()


@pytest.fixture
async def linked(storage: Storage) -> None:
    await storage.links.save("T1", "U1", "alice", method=LinkMethod.ADMIN, linked_by="UADMIN")


async def test_help_says_how_to_link_when_not_linked(storage: Storage, book: ReplayBook) -> None:
    reply = await ask(storage, book, "help")
    assert text(reply) == t("help", "en", status=t("status_not_linked", "en"))
    assert not reply.public


@pytest.mark.usefixtures("linked")
async def test_a_found_meeting_is_public_and_shows_its_replays(
    storage: Storage, book: ReplayBook
) -> None:
    book.add("alice", meeting("1" * 19, CODE, replay(1)))
    reply = await ask(storage, book, CODE)
    assert reply.public
    assert "https://meeting.tencent.com/l/1" in str(reply.messages)


async def test_an_unlinked_lookup_says_so_privately(storage: Storage, book: ReplayBook) -> None:
    reply = await ask(storage, book, CODE)
    assert not reply.public
    assert t("lookup_not_linked", "en") in str(reply.messages)
    assert book.calls == 0


async def test_a_directory_that_cannot_be_read_is_one_answer_for_every_command(
    storage: Storage, book: ReplayBook
) -> None:
    who = answers(storage, book, directory_down=True)
    for command in (CODE, "whoami", "subscribe", "unsubscribe"):
        reply = await who.answer(parse_command(command), CALLER, shareable=True)
        assert text(reply) == t("identity_unavailable", "en"), command
    assert book.calls == 0


@pytest.mark.usefixtures("linked")
async def test_whoami_says_how_the_link_was_made(storage: Storage, book: ReplayBook) -> None:
    reply = await ask(storage, book, "whoami")
    assert text(reply) == "\n".join(
        [
            t("whoami_admin", "en", userid="alice", admin="<@UADMIN>"),
            t("visibility_status_me", "en"),
        ]
    )


@pytest.mark.usefixtures("linked")
async def test_subscribing_to_someone_elses_meeting_is_refused(
    storage: Storage, book: ReplayBook
) -> None:
    book.add("bob", meeting("1" * 19, CODE, replay(1)))
    reply = await ask(storage, book, f"subscribe {CODE}")
    assert text(reply) == t("subscribe_refused_not_creator", "en", code=CODE)
    assert await storage.subscriptions.in_channel("T1", "C1") == []


@pytest.mark.usefixtures("linked")
async def test_subscribe_unsubscribe_and_list(storage: Storage, book: ReplayBook) -> None:
    book.add("alice", meeting("1" * 19, CODE))
    assert text(await ask(storage, book, "subscribe")) == t("subscribe_done_mine", "en")
    assert text(await ask(storage, book, "subscribe")) == t("subscribe_already_mine", "en")
    assert text(await ask(storage, book, f"subscribe {CODE}")) == t(
        "subscribe_done_code", "en", code=CODE
    )
    listing = text(await ask(storage, book, "subscriptions"))
    assert t("subscriptions_item_code", "en", code=CODE, user="<@U1>") in listing
    assert t("subscriptions_item_mine", "en", user="<@U1>") in listing
    assert text(await ask(storage, book, "unsubscribe")) == t("unsubscribe_done_mine", "en")
    assert text(await ask(storage, book, "unsubscribe")) == t("unsubscribe_nothing_mine", "en")


@pytest.mark.usefixtures("linked")
async def test_a_subject_filter_is_its_own_subscription(storage: Storage, book: ReplayBook) -> None:
    done = t("subscribe_done_match", "en", words="Weekly &lt;sync&gt;")
    assert text(await ask(storage, book, "subscribe match Weekly <sync>")) == done
    assert text(await ask(storage, book, "subscribe match Weekly <sync>")) == t(
        "subscribe_already_match", "en", words="Weekly &lt;sync&gt;"
    )
    # "all my meetings" beside the filter is another subscription
    assert text(await ask(storage, book, "subscribe")) == t("subscribe_done_mine", "en")
    (mine, matching) = await storage.subscriptions.in_channel("T1", "C1")
    assert (mine.subject_match, matching.subject_match) == ("", "Weekly <sync>")
    assert matching.tencent_userid == "alice" and matching.meeting_code is None

    listing = text(await ask(storage, book, "subscriptions"))
    item = t("subscriptions_item_match", "en", words="Weekly &lt;sync&gt;", user="<@U1>")
    assert item in listing.splitlines()
    assert t("subscriptions_item_mine", "en", user="<@U1>") in listing.splitlines()

    assert text(await ask(storage, book, "unsubscribe match Weekly <sync>")) == t(
        "unsubscribe_done_match", "en", words="Weekly &lt;sync&gt;"
    )
    assert text(await ask(storage, book, "unsubscribe match Weekly <sync>")) == t(
        "unsubscribe_nothing_match", "en", words="Weekly &lt;sync&gt;"
    )
    assert [s.subject_match for s in await storage.subscriptions.in_channel("T1", "C1")] == [""]


async def test_match_without_words_says_what_is_missing(storage: Storage, book: ReplayBook) -> None:
    reply = await ask(storage, book, "subscribe match")
    assert text(reply) == t("invalid_missing_match_words", "en")
    assert await storage.subscriptions.in_channel("T1", "C1") == []


async def test_the_dm_switch_is_kept(storage: Storage, book: ReplayBook) -> None:
    assert text(await ask(storage, book, "dm off")) == t("dm_off_done", "en")
    assert not await storage.preferences.dm_digests_enabled("T1", "U1")
    assert text(await ask(storage, book, "dm on")) == t("dm_on_done", "en")
    assert await storage.preferences.dm_digests_enabled("T1", "U1")


async def test_only_admins_link_others(storage: Storage, book: ReplayBook) -> None:
    reply = await ask(storage, book, "link <@U2|bob> bob")
    assert text(reply) == t("link_refused_not_admin", "en", userid="bob", user="<@U2>")
    admin = Caller(team_id="T1", user_id="UADMIN", channel_id="C1", locale="en")
    reply = await ask(storage, book, "link <@U2|bob> bob", admin)
    assert text(reply) == t("link_done_other", "en", userid="bob", user="<@U2>")
    link = await storage.links.get("T1", "U2")
    assert link is not None and link.method is LinkMethod.ADMIN


async def test_the_empty_command_of_an_unlinked_person_is_the_help(
    storage: Storage, book: ReplayBook
) -> None:
    reply = await ask(storage, book, "")
    assert text(reply) == t("help", "en", status=t("status_not_linked", "en"))


@pytest.mark.usefixtures("linked")
async def test_the_empty_command_lists_recent_meetings_and_ends_with_the_hint(
    storage: Storage, book: ReplayBook
) -> None:
    reply = await ask(storage, book, "")
    blocks = reply.messages[0]["blocks"]
    assert blocks[0]["text"]["text"] == t("recent_header", "en", days=7)
    assert blocks[-1]["elements"][0]["text"] == t("recent_hint", "en")
    assert not reply.public


async def test_visibility_needs_a_link(storage: Storage, book: ReplayBook) -> None:
    reply = await ask(storage, book, "visibility workspace")
    assert text(reply) == t("lookup_not_linked", "en")


@pytest.mark.usefixtures("linked")
async def test_visibility_is_set_and_shown(storage: Storage, book: ReplayBook) -> None:
    reply = await ask(storage, book, "可见 workspace")
    assert text(reply) == t("visibility_done_workspace", "en")
    assert await storage.visibility.get("T1", "alice") == "workspace"
    assert t("visibility_status_workspace", "en") in text(await ask(storage, book, "whoami"))
