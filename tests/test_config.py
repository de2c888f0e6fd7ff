"""Settings from the environment: the forms operators write, and errors that name variables and
never echo values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import DEFAULT_DATABASE_URL, ConfigError, load_settings
from tests.fakes.databases import postgres_server_url

REQUIRED = {
    "SLACK_BOT_TOKEN": "xoxb-unit-test-token-1",
    "SLACK_SIGNING_SECRET": "unit-signing-secret-1",
    "TENCENT_MEETING_APP_ID": "211000001",
    "TENCENT_MEETING_SECRET_ID": "AKIDunit",
    "TENCENT_MEETING_SECRET_KEY": "unit-secret-key-1",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what each test sets: nothing from the developer's shell, no .env of theirs."""
    prefixes = ("SLACK_", "TENCENT_", "DATABASE_URL", "BOT_ADMINS", "DIGEST_", "PORT", "LOG_LEVEL")
    for name in list(os.environ):
        if name.upper().startswith(prefixes):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def required(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)


def problem(**env: str) -> str:
    """The ConfigError message for the environment plus `env` (a value "" unsets it)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            if value:
                patch.setenv(name, value)
            else:
                patch.delenv(name, raising=False)
        with pytest.raises(ConfigError) as caught:
            load_settings(env_file=None)
    return str(caught.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, DEFAULT_DATABASE_URL),
        ("", DEFAULT_DATABASE_URL),
        (
            "postgres://u:pw@db.example.com:5432/d1",
            "postgresql+asyncpg://u:pw@db.example.com:5432/d1",
        ),
        ("postgresql://u@localhost/d1", "postgresql+asyncpg://u@localhost/d1"),
        ("POSTGRESQL://u@localhost/d1", "postgresql+asyncpg://u@localhost/d1"),
        ("postgresql+asyncpg://u@localhost/d1", "postgresql+asyncpg://u@localhost/d1"),
        ("sqlite:///replays.db", "sqlite+aiosqlite:///replays.db"),
        ("sqlite:////var/lib/bot/replays.db", "sqlite+aiosqlite:////var/lib/bot/replays.db"),
        (
            "postgres://u:pw@h/d1?sslmode=require&application_name=replays",
            "postgresql+asyncpg://u:pw@h/d1?ssl=require&application_name=replays",
        ),
    ],
)
def test_database_url_forms(
    required: None, monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: str
) -> None:
    if raw is not None:
        monkeypatch.setenv("DATABASE_URL", raw)
    assert load_settings(env_file=None).database_url == expected


@pytest.mark.skipif(postgres_server_url() is None, reason="TEST_DATABASE_URL is not set")
async def test_a_postgres_url_with_sslmode_connects(required: None) -> None:
    # Hosted PostgreSQL URLs carry libpq's sslmode, which asyncpg refuses as an argument.
    server = postgres_server_url()
    assert server is not None
    raw = server.replace("postgresql+asyncpg://", "postgres://", 1) + "?sslmode=disable"
    url = load_settings(env_file=None, database_url=raw).database_url
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(sa.text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "raw", ["mysql://u:hunter2-pw@h/d1", "u:hunter2-pw@h/d1", "hunter2-pw@h://d1"]
)
def test_bad_database_urls_are_named_without_their_value(required: None, raw: str) -> None:
    message = problem(DATABASE_URL=raw)
    assert "DATABASE_URL" in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("raw", "admins"),
    [
        ("", frozenset()),
        ("UADMIN", {"UADMIN"}),
        ("U1,U2", {"U1", "U2"}),
        ("U1 U2", {"U1", "U2"}),
        (" U1 , U2 ,, ", {"U1", "U2"}),
    ],
)
def test_bot_admins(
    required: None, monkeypatch: pytest.MonkeyPatch, raw: str, admins: set[str]
) -> None:
    monkeypatch.setenv("BOT_ADMINS", raw)
    assert load_settings(env_file=None).bot_admins == admins


def test_every_missing_variable_is_named_in_one_message() -> None:
    message = problem()
    for name in [*REQUIRED]:
        assert name in message, name


def test_the_signing_secret_is_named_along_with_other_problems(required: None) -> None:
    message = problem(SLACK_SIGNING_SECRET="", TENCENT_MEETING_APP_ID="")
    assert "TENCENT_MEETING_APP_ID" in message
    assert "SLACK_SIGNING_SECRET" in message


def test_socket_mode_needs_no_signing_secret(
    required: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-unit")
    assert load_settings(env_file=None).socket_mode
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    assert "SLACK_SIGNING_SECRET" not in problem()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-user-token-secret-1"),
        ("SLACK_APP_TOKEN", "xoxb-not-an-app-token-secret-1"),
        ("TENCENT_WEBHOOK_AES_KEY", "too-short-aes-secret-1"),
        ("PORT", "secret-port-1"),
        ("TENCENT_MEETING_CALLS_PER_MINUTE", "-5"),
        ("LOG_LEVEL", "chatty-secret-1"),
    ],
)
def test_malformed_values_are_named_and_never_echoed(required: None, name: str, value: str) -> None:
    message = problem(**{name: value})
    assert name in message
    assert value not in message
    for secret in REQUIRED.values():
        assert secret not in message


def test_dotenv_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = [f"{name}={value}" for name, value in REQUIRED.items()]
    (tmp_path / ".env").write_text("\n".join([*lines, "PORT=4000", "BOT_ADMINS=U1,U2"]) + "\n")
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings()
    assert settings.slack_bot_token.get_secret_value() == REQUIRED["SLACK_BOT_TOKEN"]
    assert settings.port == 5000
    assert settings.bot_admins == {"U1", "U2"}


def test_secrets_lists_every_secret_value(required: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENCENT_WEBHOOK_TOKEN", "webhook-token-unit")
    monkeypatch.setenv("DATABASE_URL", "postgres://bot:db-password-unit@db/replays")
    settings = load_settings(env_file=None)
    assert set(settings.secrets) == {
        REQUIRED["SLACK_BOT_TOKEN"],
        REQUIRED["SLACK_SIGNING_SECRET"],
        REQUIRED["TENCENT_MEETING_SECRET_KEY"],
        "webhook-token-unit",
        "db-password-unit",
    }
    # And the settings object never prints a secret it holds, the database password included.
    for secret in settings.secrets:
        assert secret not in repr(settings)
