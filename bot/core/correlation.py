"""What a log line is about: the Slack team, the command or event, the meeting, the digest job.

The fields live in one `ContextVar`, set where a piece of work starts (the Bolt dispatch, the
webhook handler, the digest queue) and read by the JSON log formatter (`bot.logs`). Context
variables are copied into every task created under them, so the work a listener starts after its
acknowledgement, or the look-ups a job runs, keep the fields of the request that started them, and
two requests served at once never see each other's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType

#: the field names a log line may carry, in the order they are written
FIELDS = ("team", "request_kind", "request_id", "meeting", "digest_job")

_EMPTY: Mapping[str, str] = MappingProxyType({})
_fields: ContextVar[Mapping[str, str]] = ContextVar("correlation", default=_EMPTY)


def current() -> Mapping[str, str]:
    """The fields of the work under way (empty outside any)."""
    return _fields.get()


def bind(**fields: str | int | None) -> None:
    """Add fields to the current context for the rest of it (a request's task, say); None and
    empty values are left out. Tasks created afterwards inherit them."""
    _fields.set(_merged(fields))


@contextlib.contextmanager
def scope(**fields: str | int | None) -> Iterator[None]:
    """Add fields for the duration of a block, then put the previous ones back."""
    token = _fields.set(_merged(fields))
    try:
        yield
    finally:
        _fields.reset(token)


_KNOWN = frozenset(FIELDS)


def _merged(fields: Mapping[str, str | int | None]) -> Mapping[str, str]:
    if not _KNOWN.issuperset(fields):
        raise ValueError(f"unknown correlation fields: {sorted(set(fields) - _KNOWN)}")
    merged = dict(_fields.get())
    for key, value in fields.items():
        if value is not None and value != "":
            merged[key] = str(value)
    return MappingProxyType(merged)
