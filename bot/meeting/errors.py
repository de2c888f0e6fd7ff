"""Typed Tencent Meeting failures, mapped from `error_code`, each carrying what support needs.

The rest of the app words these for people (see `bot.i18n`); the operator sees `str(error)` in logs,
which never contains a secret.
"""

from __future__ import annotations


class TencentMeetingError(Exception):
    """Base of every failure of a Tencent Meeting call."""

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
        super().__init__(self._describe())

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


class UserNotRegisteredError(TencentMeetingError):
    """190001: the userid is not a user of the enterprise."""


class MeetingNotFoundError(TencentMeetingError):
    """9003 / 190457: no such meeting (codes are recycled 30 days after the scheduled start)."""


class CredentialsError(TencentMeetingError):
    """Clock skew, replayed nonce, bad AppId/SecretId/SdkId or signature: an operator problem."""


class QuotaExceededError(TencentMeetingError):
    """190310 / 190311 / 190313: over Tencent's call quota."""

    retryable = True


class UnavailableError(TencentMeetingError):
    """Network error, timeout, or a 5xx without a permanent code."""

    retryable = True


class MalformedResponseError(TencentMeetingError):
    """The body was not JSON or lacked required fields."""


class RateLimitTimeoutError(TencentMeetingError):
    """Our own call budget stayed exhausted for longer than a caller was willing to wait."""

    retryable = True
