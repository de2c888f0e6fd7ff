"""Tencent Meeting's failures, read from its answers in one place (`error_from_response`,
`parse_body`) and raised as `bot.core.failures.MeetingServiceError`s.

Each class below names one `Failure` and carries what support needs (Tencent's `error_code`, the
HTTP status, Tencent's trace id); the core sees only the `Failure`. `str(error)` goes to the
operator's logs and never contains a secret.
"""

from __future__ import annotations

import json
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from bot.core.failures import Failure, MeetingServiceError

Model = TypeVar("Model", bound=BaseModel)


class TencentMeetingError(MeetingServiceError):
    """Base of every failure of a Tencent Meeting call; by itself, a refusal with no known code."""

    #: the `Failure` every error of this class is
    kind: ClassVar[Failure] = Failure.UNREACHABLE
    #: whether calling again can succeed (network trouble, 5xx, quota)
    retryable: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        error_code: int | None = None,
        http_status: int | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.message = message
        self.error_code = error_code
        self.http_status = http_status
        self.trace_id = trace_id
        super().__init__(self.kind, self._describe())

    def _describe(self) -> str:
        parts = [type(self).__name__]
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        if self.error_code is not None:
            parts.append(f"code={self.error_code}")
        if self.trace_id:
            parts.append(f"trace={self.trace_id}")
        if self.message:
            parts.append(f"message={self.message!r}")
        return " ".join(parts)


class NotCreatorError(TencentMeetingError):
    """190315: only the meeting's creator may read its live replays."""

    kind = Failure.NOT_CREATOR


class UserNotRegisteredError(TencentMeetingError):
    """190001: the userid is not a user of the enterprise."""

    kind = Failure.USER_NOT_REGISTERED


class MeetingNotFoundError(TencentMeetingError):
    """9003 / 190457: no such meeting (codes are recycled 30 days after the scheduled start)."""

    kind = Failure.NOT_FOUND


class CredentialsError(TencentMeetingError):
    """Clock skew, replayed nonce, bad AppId/SecretId/SdkId or signature: an operator problem."""

    kind = Failure.MISCONFIGURED


class QuotaExceededError(TencentMeetingError):
    """190310 / 190311 / 190313: over Tencent's call quota."""

    kind = Failure.BUSY
    retryable = True


class UnavailableError(TencentMeetingError):
    """Network error, timeout, or a 5xx without a permanent code."""

    kind = Failure.UNREACHABLE
    retryable = True


class MalformedResponseError(TencentMeetingError):
    """The body was not JSON or lacked required fields."""

    kind = Failure.MALFORMED


class RateLimitTimeoutError(TencentMeetingError):
    """Our own call budget stayed exhausted for longer than a caller was willing to wait."""

    kind = Failure.BUSY
    retryable = True


ERRORS_BY_CODE: dict[int, type[TencentMeetingError]] = {
    190315: NotCreatorError,
    190001: UserNotRegisteredError,
    9003: MeetingNotFoundError,
    190457: MeetingNotFoundError,
    190300: CredentialsError,
    190301: CredentialsError,
    190303: CredentialsError,
    200003: CredentialsError,
    190310: QuotaExceededError,
    190311: QuotaExceededError,
    190313: QuotaExceededError,
}


def error_label(error: TencentMeetingError) -> str:
    """An error as the low-cardinality label that `CallObserver.tencent_call` is given."""
    if error.error_code is not None:
        return str(error.error_code)
    if isinstance(error, MalformedResponseError):
        return "malformed"
    if error.http_status is not None:
        return f"http_{error.http_status}"
    return "unreachable"


def error_from_response(status: int, body: str, trace_id: str | None) -> TencentMeetingError:
    """The typed error for a non-200 answer: by error_code, by HTTP status only without one."""
    code, message = _parse_error_body(body)
    kind = ERRORS_BY_CODE.get(code) if code is not None else None
    if kind is None:
        if status == 429:
            kind = QuotaExceededError
        elif status >= 500:
            kind = UnavailableError
        else:
            kind = TencentMeetingError
    return kind(message, error_code=code, http_status=status, trace_id=trace_id)


def _parse_error_body(body: str) -> tuple[int | None, str]:
    try:
        info = json.loads(body)["error_info"]
        code = info.get("error_code")
        return (int(code) if code is not None else None), str(info.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        # A proxy's HTML page or similar: keep a short, single-line excerpt for the operator.
        excerpt = " ".join(body.split())[:120]
        return None, f"non-JSON error body: {excerpt!r}" if excerpt else "empty error body"


def parse_body(model: type[Model], body: str, *, trace_id: str | None) -> Model:
    """Validate a 200 body; anything that is not the expected JSON is a MalformedResponseError."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "body"
        raise MalformedResponseError(
            f"unexpected {model.__name__}: {where}: {first.get('msg', 'invalid')}",
            http_status=200,
            trace_id=trace_id,
        ) from None
