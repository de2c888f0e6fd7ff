"""`http_mock`: aiohttp mocked at the HTTP edge with aioresponses, in one place (a pytest plugin,
see tests/conftest.py), for the tests of one client without a server.

`http_mock` is an `aioresponses` that also keeps every request in the order it was sent, with the
URL exactly as the client passed it (aioresponses' own `requests` is keyed by a URL whose query it
sorts, which is not what was signed).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from aioresponses import core as aioresponses_core
from yarl import URL


# --- aioresponses 0.7.9 vs aiohttp >= 3.14 ------------------------------------------------------
# aiohttp 3.14 added a required keyword `stream_writer` to ClientResponse.__init__; aioresponses
# 0.7.9 does not pass it, so every mocked call fails with "TypeError: ... missing ... 'stream_writer'"
# (https://github.com/pnuckowski/aioresponses/issues/289). The shim hands it a writer that has sent
# nothing (None fails on `.output_size`). Remove the shim, and
# `test_plain_aioresponses_still_needs_the_shim` in tests/meeting/test_client.py, once an aioresponses
# release passes `stream_writer` itself: that test fails then to say so.
class _SentNothing:
    output_size = 0


class StreamWriterCompatResponse(aiohttp.ClientResponse):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentNothing())
        super().__init__(*args, **kwargs)


NEEDS_STREAM_WRITER_SHIM = (
    "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters
)


@dataclass(frozen=True)
class SentRequest:
    """One request as the client made it."""

    method: str
    url: URL
    headers: dict[str, str]
    timeout: aiohttp.ClientTimeout | None
    allow_redirects: bool | None

    @property
    def uri(self) -> str:
        """Path and query as sent, byte for byte: what the signature covers."""
        return self.url.raw_path_qs

    @property
    def timeout_total(self) -> float:
        """The attempt's whole time limit (the client always sets one)."""
        assert self.timeout is not None
        assert self.timeout.total is not None
        return self.timeout.total


class HttpMock(aioresponses):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[SentRequest] = []

    async def _request_mock(  # type: ignore[override]
        self,
        orig_self: aiohttp.ClientSession,
        method: str,
        url: URL | str,
        *args: Any,
        **kwargs: Any,
    ) -> aiohttp.ClientResponse:
        self.sent.append(
            SentRequest(
                method=method.upper(),
                url=url if isinstance(url, URL) else URL(url),
                headers=dict(kwargs.get("headers") or {}),
                timeout=kwargs.get("timeout"),
                allow_redirects=kwargs.get("allow_redirects"),
            )
        )
        return await super()._request_mock(orig_self, method, url, *args, **kwargs)


@pytest.fixture
def http_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpMock]:
    if NEEDS_STREAM_WRITER_SHIM:
        monkeypatch.setattr(aioresponses_core, "ClientResponse", StreamWriterCompatResponse)
    mock = HttpMock()
    with mock:
        yield mock
