"""The keys a digest job records its deliveries under, one per step that must not happen twice.

For each place (`Recipient.key`): `<place>#try` before its first post, `<place>#<n>` for message
`n` (from 0) of its digest, `<place>` once all of them went out, `<place>#u<hash>` once it was
shown a set of replays (its first digest or an update), `<place>#gave_up` for the creator's
"no replay came" note, `<place>#removed<job>` once the message job `<job>` posted there says that
its cloud recording was removed. A run that finds a key skips its step, so a rerun never posts twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable

from bot.core.digest_sink import Recipient


def part_key(recipient: Recipient, part: int) -> str:
    """The delivery key of message `part` (from 0) of a place's digest."""
    return f"{_prefix(recipient)}{part}"


def part_of(recipient: Recipient, key: str) -> int | None:
    """The message number a delivery key of this place names; None for its other keys."""
    prefix = _prefix(recipient)
    if not key.startswith(prefix) or not key[len(prefix) :].isdigit():
        return None
    return int(key[len(prefix) :])


def parts_posted(recipient: Recipient, delivered: Collection[str]) -> frozenset[int]:
    """The messages of this place's digest that `delivered` records as posted."""
    return frozenset(part for key in delivered if (part := part_of(recipient, key)) is not None)


def place_prefix(recipient: Recipient) -> str:
    """What every delivery key of this place but the place's own key starts with."""
    return _prefix(recipient)


def shown_key(recipient: Recipient, replay_keys: Iterable[str]) -> str:
    """The delivery key of a place having been shown these replays (first post or update)."""
    joined = "\n".join(sorted(replay_keys))
    return f"{_prefix(recipient)}u{hashlib.sha256(joined.encode()).hexdigest()[:16]}"


def try_key(recipient: Recipient) -> str:
    """Noted before the first post to a place: a later run seeing it without the full delivery
    knows an earlier try may have posted."""
    return f"{_prefix(recipient)}try"


def gave_up_key(recipient: Recipient) -> str:
    """Noted once the creator heard that no replay came."""
    return f"{_prefix(recipient)}gave_up"


def _prefix(recipient: Recipient) -> str:
    return f"{recipient.key}#"


def removed_key(place: str, posted_by: int) -> str:
    """Noted once the message that job `posted_by` posted in `place` (a `Recipient.key`) was
    rewritten to say that its cloud recording was removed."""
    return f"{place}#removed{posted_by}"
