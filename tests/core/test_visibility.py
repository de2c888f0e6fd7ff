"""Who may see a meeting's replays: the creator's choice, answered without Tencent when it is
"only me", with one shared call when it is "the workspace"."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.identity import Identity
from bot.core.lookup import ReplayLookup
from bot.core.meetings import MeetingRef
from bot.core.outcomes import LookupProblem, Owner
from bot.core.records import EndedMeeting, LinkMethod, Visibility
from bot.core.storage import Storage
from bot.core.visibility import Asker, MeetingAccess
from tests.fakes.core import Clock, ReplayBook, meeting, replay

MEETING_ID = "1900000000000000001"
CODE = MeetingRef("code", "806146667")
ALICE = Asker("T1", "UALICE")
BOB = Asker("T1", "UBOB")


class NoEmails:
    async def email_of(self, user_id: str) -> str | None:
        return None


def access_of(storage: Storage, book: ReplayBook, clock: Clock) -> MeetingAccess:
    identity = Identity(
        storage.links,
        NoEmails(),
        book,
        operator_id=None,
        admins=frozenset(),
        clock=clock,  # type: ignore[arg-type]
    )
    lookup = ReplayLookup(book, clock=clock)
    return MeetingAccess(
        identity, lookup, storage.meetings, storage.visibility, storage.links, clock=clock
    )


@pytest.fixture
async def people(storage: Storage, book: ReplayBook) -> None:
    await storage.links.save("T1", "UALICE", "alice", method=LinkMethod.ADMIN, linked_by="UADMIN")
    await storage.links.save("T1", "UBOB", "bob", method=LinkMethod.ADMIN, linked_by="UADMIN")
    book.add("alice", meeting(MEETING_ID, CODE.value, replay(1)))


async def learn(access: MeetingAccess) -> None:
    await access.meeting_ended(EndedMeeting("k", MEETING_ID, CODE.value, "Weekly", "alice"))


@pytest.mark.usefixtures("people")
async def test_an_unknown_meeting_is_looked_up_as_before(
    storage: Storage, book: ReplayBook, clock: Clock
) -> None:
    access = access_of(storage, book, clock)
    result = await access.lookup(CODE, BOB)
    assert result.problem is LookupProblem.NOT_CREATOR
    assert book.calls == 1


@pytest.mark.usefixtures("people")
async def test_with_me_others_are_answered_without_tencent(
    storage: Storage, book: ReplayBook, clock: Clock
) -> None:
    access = access_of(storage, book, clock)
    await learn(access)

    result = await access.lookup(CODE, BOB)

    assert result.problem is LookupProblem.ONLY_CREATOR
    assert result.owner == Owner("alice", "UALICE")
    assert book.calls == 0


@pytest.mark.usefixtures("people")
async def test_the_creator_still_gets_their_replays(
    storage: Storage, book: ReplayBook, clock: Clock
) -> None:
    access = access_of(storage, book, clock)
    await learn(access)
    result = await access.lookup(CODE, ALICE)
    assert result.ok and result.meetings and result.owner is None


@pytest.mark.usefixtures("people")
async def test_with_workspace_members_get_the_cards_with_the_owner(
    storage: Storage, book: ReplayBook, clock: Clock
) -> None:
    access = access_of(storage, book, clock)
    await learn(access)
    assert await access.set_visibility("T1", "UALICE", Visibility.WORKSPACE) == "alice"

    result = await access.lookup(CODE, BOB)
    assert result.meetings and result.owner == Owner("alice", "UALICE")

    guest = await access.lookup(CODE, Asker("T1", "UGUEST", guest=True))
    assert guest.problem is LookupProblem.GUEST
    # another workspace is not "the workspace"
    elsewhere = await access.lookup(CODE, Asker("T2", "UBOB"))
    assert elsewhere.problem is not None and not elsewhere.meetings


@pytest.mark.usefixtures("people")
async def test_back_to_me_takes_effect_on_the_next_look_up_despite_the_cache(
    storage: Storage, book: ReplayBook, clock: Clock
) -> None:
    access = access_of(storage, book, clock)
    await learn(access)
    await access.set_visibility("T1", "UALICE", Visibility.WORKSPACE)
    assert (await access.lookup(CODE, BOB)).meetings
    assert access.ready(CODE, BOB) is not None  # answered from memory: the cached replays

    await access.set_visibility("T1", "UALICE", Visibility.ME)  # in this instance: at once

    assert (await access.lookup(CODE, BOB)).problem is LookupProblem.ONLY_CREATOR
    ready = access.ready(CODE, BOB)
    assert ready is not None and ready.problem is LookupProblem.ONLY_CREATOR


@pytest.mark.usefixtures("people")
async def test_another_instances_change_takes_effect_when_announced_or_within_the_ttl(
    storage: Storage, book: ReplayBook, clock: Clock
) -> None:
    access = access_of(storage, book, clock)
    await learn(access)
    await access.set_visibility("T1", "UALICE", Visibility.WORKSPACE)
    assert (await access.lookup(CODE, BOB)).meetings

    # set through the storage, as another instance would
    await storage.visibility.set("T1", "alice", Visibility.ME, set_by="UALICE")
    access.forget_visibility("T1", "alice")  # PostgreSQL's announcement
    assert (await access.lookup(CODE, BOB)).problem is LookupProblem.ONLY_CREATOR

    await storage.visibility.set("T1", "alice", Visibility.WORKSPACE, set_by="UALICE")
    assert (await access.lookup(CODE, BOB)).problem is LookupProblem.ONLY_CREATOR  # unheard
    clock.now += 16
    assert (await access.lookup(CODE, BOB)).meetings


@pytest.mark.usefixtures("people")
async def test_many_people_at_once_cost_no_call_with_me_and_one_with_workspace(
    storage: Storage, book: ReplayBook, clock: Clock
) -> None:
    access = access_of(storage, book, clock)
    await learn(access)
    askers = [Asker("T1", f"U{n}") for n in range(300)]

    results = await asyncio.gather(*(access.lookup(CODE, a) for a in askers))
    assert {r.problem for r in results} == {LookupProblem.ONLY_CREATOR}
    assert book.calls == 0

    await access.set_visibility("T1", "UALICE", Visibility.WORKSPACE)
    book.gate = asyncio.Event()
    pending = [asyncio.ensure_future(access.lookup(CODE, a)) for a in askers]
    await asyncio.sleep(0.05)
    book.gate.set()
    results = await asyncio.gather(*pending)
    assert all(r.meetings for r in results)
    assert book.calls == 1


@pytest.mark.usefixtures("people")
async def test_the_creators_own_look_up_teaches_the_creator(
    storage: Storage, book: ReplayBook, clock: Clock
) -> None:
    access = access_of(storage, book, clock)
    await access.lookup(CODE, ALICE)
    assert await storage.meetings.creator_by_id(MEETING_ID) == "alice"
    assert (await access.lookup(CODE, BOB)).problem is LookupProblem.ONLY_CREATOR


async def test_not_linked_asks_to_link(storage: Storage, book: ReplayBook, clock: Clock) -> None:
    result = await access_of(storage, book, clock).lookup(CODE, BOB)
    assert result.problem is LookupProblem.NOT_LINKED


# --- answers from memory alone (the slash command's answer inside its acknowledgement) ----------

ID = MeetingRef("id", MEETING_ID)
GUEST = Asker("T1", "UGUEST", guest=True)
ELSEWHERE = Asker("T2", "UBOB")


async def ready_matches_lookup(access: MeetingAccess, book: ReplayBook) -> int:
    """Every answer `ready` gives is the one `lookup` gives, with no Tencent call; how many it gave."""
    given = 0
    for ref in (CODE, ID):
        for asker in (ALICE, BOB, GUEST, ELSEWHERE):
            ready = access.ready(ref, asker)
            if ready is None:
                continue
            calls = book.calls
            assert ready == await access.lookup(ref, asker), (ref, asker)
            assert book.calls == calls
            given += 1
    return given


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize("visibility", list(Visibility))
async def test_ready_answers_only_what_a_look_up_would_answer(
    storage: Storage, book: ReplayBook, clock: Clock, visibility: Visibility
) -> None:
    access = access_of(storage, book, clock)
    assert await ready_matches_lookup(access, book) == 0  # nothing known: nothing ready

    await learn(access)
    await access.set_visibility("T1", "UALICE", visibility)
    for asker in (ALICE, BOB, GUEST):
        await access.lookup(CODE, asker)
    assert await ready_matches_lookup(access, book) >= 3

    clock.now += 20  # links and settings kept in memory have expired; replays are still kept
    assert access.ready(CODE, BOB) is None
    await access.lookup(CODE, BOB)
    assert await ready_matches_lookup(access, book) >= 1


@pytest.mark.usefixtures("people")
async def test_ready_leaves_it_to_the_database_once_what_memory_knew_of_the_creator_expires(
    storage: Storage, book: ReplayBook, clock: Clock
) -> None:
    access = access_of(storage, book, clock)
    first = await access.lookup(CODE, BOB)  # nobody knows the creator yet: Tencent says no
    assert first.problem is LookupProblem.NOT_CREATOR
    assert access.ready(CODE, BOB) == first

    await storage.meetings.learn_creator(MEETING_ID, CODE.value, "alice")  # another instance
    clock.now += 6  # "creator unknown" is kept only briefly
    # Bob's own answer is still cached, but the database knows more now: no answer from memory.
    assert access.ready(CODE, BOB) is None
    assert (await access.lookup(CODE, BOB)).problem is LookupProblem.ONLY_CREATOR
