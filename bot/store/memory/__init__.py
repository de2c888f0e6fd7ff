"""Every storage Protocol of `bot.core.storage` in memory, for fast tests of the core.

It keeps what the SQL stores promise, so that a test passing here means the same on a database:
leases and due times when claiming, the same orderings, first sightings, duplicates within one
batch, changes to a job only by its lease owner while it is PENDING, the refusal of naive datetimes
and of deliveries for jobs that do not exist (`StorageRejected`), and frozen snapshots handed out.
Orderings compare strings by code point, as SQLite and PostgreSQL's "C" collation do.

One module per store, as on the SQL side. Each method runs without awaiting anything, so on one
event loop it is as atomic as the SQL statement it stands for. Nothing here imports SQLAlchemy.
"""

from __future__ import annotations

from bot.core.storage import Storage
from bot.store.memory.digest_jobs import MemoryDigestJobStore
from bot.store.memory.events import MemorySeenEvents
from bot.store.memory.heartbeats import MemoryOpsStore
from bot.store.memory.links import MemoryLinkStore
from bot.store.memory.live import MemoryLiveMeetingStore
from bot.store.memory.meetings import MemoryMeetingStore, MemoryVisibilityStore
from bot.store.memory.poll_windows import MemoryPollWindowStore
from bot.store.memory.preferences import MemoryPreferenceStore
from bot.store.memory.subscriptions import MemorySubscriptionStore

__all__ = ["memory_storage"]


def memory_storage() -> Storage:
    """A fresh, empty `Storage` whose parts live in this process only."""
    digest_jobs = MemoryDigestJobStore()
    return Storage(
        links=MemoryLinkStore(),
        preferences=MemoryPreferenceStore(),
        subscriptions=MemorySubscriptionStore(),
        events=MemorySeenEvents(),
        digest_jobs=digest_jobs,
        meetings=MemoryMeetingStore(),
        visibility=MemoryVisibilityStore(),
        live=MemoryLiveMeetingStore(),
        poll_windows=MemoryPollWindowStore(),
        # the backlog is read from the jobs' own rows, as the SQL store reads the digest_jobs table
        ops=MemoryOpsStore(digest_jobs),
    )
