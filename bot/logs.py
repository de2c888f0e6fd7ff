"""Logging set-up: human-readable lines or one JSON object per line (`LOG_FORMAT=json`), and a
filter that blanks any secret value that slips into a record.

Secrets are kept out of messages by construction (settings hold them as `SecretStr`); the filter is the
second line of defence, covering third-party libraries that log request details at DEBUG. The JSON
form passes every value it writes through the same redaction, and carries the correlation fields of
the work under way (`bot.core.correlation`) so that a log platform can gather one request's lines.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.core import audit, correlation

REDACTED = "[redacted]"


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is blanked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the correlation
    fields of the work under way, an audit line's fields, and the traceback when there is one; `redact` is applied to each
    string written, so that nothing the secret filter did not see (a field) can carry a secret."""

    def __init__(self, redact: Callable[[str], str] = str) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **correlation.current(),
            # an audit line's own fields (`bot.core.audit`) say whom it is about, over the request's
            **getattr(record, audit.RECORD_ATTRIBUTE, {}),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        # ensure_ascii=False: Chinese subjects stay readable, and a secret is matched as written
        return json.dumps(
            {
                key: self._redact(value) if isinstance(value, str) else value
                for key, value in entry.items()
            },
            ensure_ascii=False,
        )


def configure_logging(
    level: str, secrets: Iterable[str], stream: TextIO | None = None, *, json_lines: bool = False
) -> None:
    """One handler on the root logger (stderr unless `stream`), with the secret filter on it;
    `json_lines` writes one JSON object per line instead of the human-readable form."""
    handler = logging.StreamHandler(stream)
    redaction = RedactSecrets(secrets)
    if json_lines:
        handler.setFormatter(JsonFormatter(redaction.redact))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redaction)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
