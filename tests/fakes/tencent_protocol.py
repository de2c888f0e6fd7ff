"""The wire rules every endpoint of the fake Tencent shares: error codes, request checks, queries.

Split from `tests.fakes.tencent` so that the endpoint modules (meetings, recordings) can raise the
same refusals and read queries the same way. See that module's docstring for the choices the fake
makes where the spec is silent.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.meeting.signing import Credentials, sign

TIMESTAMP_SKEW = 300
REPLAY_WINDOW = 300
MAX_PAGE_SIZE = 20

BAD_PARAMETER = 10001
USER_NOT_REGISTERED = 190001
NOT_CREATOR = 190315
MEETING_ID_NOT_FOUND = 9003
MEETING_CODE_NOT_FOUND = 190457
CLOCK_SKEW = 190300
NONCE_REPLAYED = 190301
BAD_IDENTITY = 190303
OVER_QUOTA = 190310
BAD_SIGNATURE = 200003


@dataclass(frozen=True)
class Rejection:
    """Why Tencent would refuse a request: HTTP status, error_code and message."""

    status: int
    error_code: int
    message: str


def verify_request(
    headers: Mapping[str, str],
    *,
    method: str,
    uri: str,
    body: str,
    credentials: Credentials,
    now: float,
) -> Rejection | None:
    """Check a request's headers and signature as Tencent does (all but the nonce-replay check).

    `headers` must keep the names exactly as sent; `uri` is the raw path and query as received.
    """
    for check in (_check_identity, _check_timestamp, _check_plain_headers):
        rejection = check(headers, credentials, now)
        if rejection is not None:
            return rejection
    nonce = headers.get("X-TC-Nonce", "")
    if not nonce.isdigit() or int(nonce) <= 0:
        return Rejection(500, BAD_SIGNATURE, "X-TC-Nonce must be a positive integer")
    expected = sign(
        secret_id=credentials.secret_id,
        secret_key=credentials.secret_key,
        method=method,
        uri=uri,
        body=body,
        timestamp=headers["X-TC-Timestamp"],
        nonce=nonce,
    )
    if not hmac.compare_digest(expected, headers.get("X-TC-Signature", "")):
        return Rejection(500, BAD_SIGNATURE, "Signature failed")
    return None


def _check_identity(
    headers: Mapping[str, str], credentials: Credentials, now: float
) -> Rejection | None:
    if headers.get("X-TC-Key") != credentials.secret_id:
        return Rejection(400, BAD_IDENTITY, "invalid X-TC-Key")
    if headers.get("AppId") != credentials.app_id:
        return Rejection(400, BAD_IDENTITY, "invalid AppId")
    if headers.get("SdkId") != credentials.sdk_id:
        # Absent when none was assigned, equal to it when one was; an empty one is wrong too.
        return Rejection(400, BAD_IDENTITY, "invalid SdkId")
    return None


def _check_timestamp(
    headers: Mapping[str, str], credentials: Credentials, now: float
) -> Rejection | None:
    timestamp = headers.get("X-TC-Timestamp", "")
    if not timestamp.isdigit() or abs(int(timestamp) - now) > TIMESTAMP_SKEW:
        return Rejection(400, CLOCK_SKEW, "X-TC-Timestamp missing or too far from server time")
    return None


def _check_plain_headers(
    headers: Mapping[str, str], credentials: Credentials, now: float
) -> Rejection | None:
    if headers.get("X-TC-Registered") != "1":
        return Rejection(400, BAD_PARAMETER, "X-TC-Registered must be 1")
    if not headers.get("Content-Type", "").startswith("application/json"):
        return Rejection(400, BAD_PARAMETER, "Content-Type must be application/json")
    return None


def error_body(error_code: int, message: str) -> dict[str, Any]:
    """Tencent's error body; new_error_code follows the spec's example (190315 → 200190315)."""
    return {
        "error_info": {
            "error_code": error_code,
            "new_error_code": 200_000_000 + error_code,
            "message": message,
        }
    }


class Refused(Exception):
    """Answer this request with a Tencent error body (raised by endpoint code, caught by the server)."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


def bad_parameter(message: str) -> Refused:
    return Refused(Rejection(400, BAD_PARAMETER, message))


def required(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "")
    if not value:
        raise bad_parameter(f"{name} is required")
    return value


def positive_int(query: Mapping[str, str], name: str) -> int:
    value = required(query, name)
    if not value.isdigit() or int(value) < 1:
        raise bad_parameter(f"{name} must be a positive integer")
    return int(value)


def optional_positive_int(query: Mapping[str, str], name: str, default: int) -> int:
    return positive_int(query, name) if name in query else default


def optional_seconds(query: Mapping[str, str], name: str) -> int | None:
    if name not in query:
        return None
    value = query[name]
    if not (value.isascii() and value.isdigit()):
        raise bad_parameter(f"{name} must be Unix seconds")
    return int(value)


def unix_seconds(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("meeting times must be timezone-aware")
    return math.floor(moment.timestamp())


def instance_id(query: Mapping[str, str]) -> int:
    value = required(query, "instanceid")
    if not value.isdigit():
        raise bad_parameter("instanceid must be an integer")
    return int(value)
