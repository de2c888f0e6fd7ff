"""Settings: every environment variable of the contract, read once by the composition root.

Nothing else in the app reads `os.environ`. A missing or malformed value stops start-up with one
message naming the variable and never its value.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///replays-bot.db"
SIGNING_SECRET_MISSING = (
    "SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,30}")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the variables, never their values."""


def normalize_database_url(url: str) -> str:
    """Map the URLs operators paste (Heroku's `postgres://`, plain `sqlite:///`) to async drivers."""
    url = url.strip()
    if not url:
        return DEFAULT_DATABASE_URL
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("must look like postgresql://user@host/db or sqlite:///file.db")
    scheme = scheme.lower()
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{_asyncpg_query(rest)}"
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        return f"sqlite+aiosqlite://{rest}"
    # Name the scheme only when it looks like one: a mangled URL could put a password there.
    named = f" {scheme!r}" if _SCHEME.fullmatch(scheme) else ""
    raise ValueError(f"unsupported database scheme{named} (use postgresql:// or sqlite://)")


def _asyncpg_query(rest: str) -> str:
    """libpq's `sslmode=` (as hosted PostgreSQL URLs carry it) spelled `ssl=` for asyncpg.

    asyncpg takes the same values (disable, prefer, require, verify-ca, verify-full) but refuses
    a `sslmode` argument, so an unchanged URL would fail at the first connection.
    """
    location, sep, query = rest.partition("?")
    if not sep:
        return rest
    pairs = [
        ("ssl" if key == "sslmode" else key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{location}?{urlencode(pairs)}"


def database_password(url: str) -> str | None:
    """The password inside a database URL, so that logging can keep it out."""
    try:
        return make_url(url).password
    except ArgumentError:
        return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    tencent_meeting_app_id: str
    tencent_meeting_sdk_id: str | None = None
    tencent_meeting_secret_id: str
    tencent_meeting_secret_key: SecretStr
    tencent_meeting_api_url: str = "https://api.meeting.qq.com"
    tencent_meeting_operator_id: str | None = None
    tencent_meeting_instance_id: int = Field(default=1, ge=0)
    tencent_meeting_calls_per_minute: int = Field(default=300, ge=1)

    tencent_webhook_token: SecretStr | None = None
    tencent_webhook_aes_key: SecretStr | None = None

    # Not in repr: a PostgreSQL URL carries its password (the log filter blanks it as well).
    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    bot_admins: Annotated[frozenset[str], NoDecode] = frozenset()
    digest_delay_seconds: float = Field(default=120, ge=0)
    digest_give_up_seconds: float = Field(default=21600, gt=0)
    port: int = Field(default=3000, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    #: enables GET /metrics, for requests bearing it (`Authorization: Bearer <token>`)
    metrics_token: SecretStr | None = None

    @field_validator(
        "slack_signing_secret",
        "slack_app_token",
        "tencent_meeting_sdk_id",
        "tencent_meeting_operator_id",
        "tencent_webhook_token",
        "tencent_webhook_aes_key",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("tencent_webhook_aes_key")
    @classmethod
    def _aes_key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) != 43:
            raise ValueError("must be the 43-character EncodingAESKey from the console")
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> str:
        return normalize_database_url(str(value or ""))

    @field_validator("bot_admins", mode="before")
    @classmethod
    def _admins(cls, value: object) -> frozenset[str]:
        if isinstance(value, str):
            return frozenset(part for part in value.replace(",", " ").split() if part)
        if isinstance(value, list | tuple | set | frozenset):
            return frozenset(str(v) for v in value)
        return frozenset()

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("tencent_meeting_api_url")
    @classmethod
    def _tencent_api_url(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _http_mode_needs_signing_secret(self) -> Settings:
        if self.slack_app_token is None and self.slack_signing_secret is None:
            raise ValueError(SIGNING_SECRET_MISSING)
        return self

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def secrets(self) -> list[str]:
        """Every secret value, so that tests and log filters can make sure none leaks."""
        values = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.tencent_meeting_secret_key,
            self.tencent_webhook_token,
            self.tencent_webhook_aes_key,
            self.metrics_token,
        ]
        found = [v.get_secret_value() for v in values if v is not None]
        password = database_password(self.database_url)
        return [*found, password] if password else found


class _Mode(BaseSettings):
    """Only what decides HTTP against Socket Mode, read the way `Settings` reads it.

    When other variables are wrong, pydantic never reaches `Settings`' own check of the signing
    secret; this lets the one error message name that variable too.
    """

    model_config = Settings.model_config

    slack_signing_secret: str = ""
    slack_app_token: str = ""

    def needs_signing_secret(self) -> bool:
        return not self.slack_signing_secret.strip() and not self.slack_app_token.strip()


def load_settings(*, env_file: str | None = ".env", **overrides: object) -> Settings:
    """Read the environment (and `env_file`); raise ConfigError naming each bad variable."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = _problems(exc)
    if not any(SIGNING_SECRET_MISSING in problem for problem in problems):
        mode_values: dict[str, Any] = {
            key: overrides[key] for key in _Mode.model_fields if key in overrides
        }
        if _Mode(_env_file=env_file, **mode_values).needs_signing_secret():  # type: ignore[call-arg]
            problems.append(SIGNING_SECRET_MISSING)
    raise ConfigError("Configuration problem: " + "; ".join(problems))


def _problems(exc: ValidationError) -> list[str]:
    """One line per error, naming the variable; `include_input=False` keeps every value out."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        location = error.get("loc") or ()
        name = str(location[0]).upper() if location else ""
        reason = error.get("msg", "invalid")
        if error.get("type") == "missing":
            reason = "is required but not set"
        reason = reason.removeprefix("Value error, ")
        problems.append(f"{name} {reason}" if name else reason)
    return problems
