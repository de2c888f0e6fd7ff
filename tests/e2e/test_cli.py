"""`python -m bot` and `python -m bot check` as an operator runs them: real subprocesses, real
environment variables, against the fake Slack and Tencent running in this test's event loop.

Each runs in an empty temporary directory, so that no `.env` of the developer's is read.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import bot_environment
from tests.fakes.slack import FakeSlack
from tests.fakes.tencent import FakeTencent

pytestmark = pytest.mark.slow  # starts python -m bot processes

REQUIRED = (
    "SLACK_BOT_TOKEN",
    "TENCENT_MEETING_APP_ID",
    "TENCENT_MEETING_SECRET_ID",
    "TENCENT_MEETING_SECRET_KEY",
)


@pytest.fixture
def env(fake_slack: FakeSlack, fake_tencent: FakeTencent, tmp_path: Path, people: None) -> dict:
    """A complete configuration pointing at the fakes, and nothing else from this process."""
    return bot_environment(fake_slack, fake_tencent, f"sqlite:///{tmp_path / 'cli.db'}", tmp_path)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    return path


async def run(env: dict, cwd: Path, *args: str) -> tuple[int, str, str]:
    """Run `python -m bot *args` to the end (at most 20 s): exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(20):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def secret_values(env: dict) -> list[str]:
    names = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "TENCENT_MEETING_SECRET_KEY")
    return [env[name] for name in names if env.get(name)]


async def test_missing_signing_secret_stops_start_up_naming_it(env: dict, workdir: Path) -> None:
    secrets = secret_values(env)
    del env["SLACK_SIGNING_SECRET"]
    started = time.monotonic()
    code, out, err = await run(env, workdir)
    assert code != 0
    assert time.monotonic() - started < 10
    assert "SLACK_SIGNING_SECRET" in err
    assert "Traceback" not in err
    for secret in secrets:
        assert secret not in out + err


async def test_several_missing_or_malformed_variables_are_all_named(
    env: dict, workdir: Path
) -> None:
    for name in ("TENCENT_MEETING_APP_ID", "TENCENT_MEETING_SECRET_KEY", "SLACK_SIGNING_SECRET"):
        del env[name]
    env["SLACK_BOT_TOKEN"] = "xoxp-a-user-token-not-a-bot-token"
    env["PORT"] = "eighty"
    code, _, err = await run(env, workdir)
    assert code != 0
    for name in (
        "TENCENT_MEETING_APP_ID",
        "TENCENT_MEETING_SECRET_KEY",
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
        "PORT",
    ):
        assert name in err, name
    assert "xoxp-a-user-token-not-a-bot-token" not in err
    assert "eighty" not in err
    assert env["TENCENT_MEETING_SECRET_ID"] not in err


async def test_check_against_working_services_prints_ok_lines(env: dict, workdir: Path) -> None:
    # The signing secret comes from a .env file in the working directory, as the docs promise.
    (workdir / ".env").write_text(f"SLACK_SIGNING_SECRET={env.pop('SLACK_SIGNING_SECRET')}\n")
    code, out, err = await run(env, workdir, "check")
    assert code == 0, err
    for name in ("configuration", "database", "Slack", "Tencent Meeting"):
        assert re.search(rf"^ok +{name}:", out, re.MULTILINE), out
    assert "FAIL" not in out + err


async def test_check_says_when_tencent_rejects_the_credentials(env: dict, workdir: Path) -> None:
    env["TENCENT_MEETING_SECRET_KEY"] = "not-the-right-secret-key-123"
    code, out, err = await run(env, workdir, "check")
    assert code != 0
    assert re.search(r"^FAIL Tencent Meeting: credentials rejected", err, re.MULTILINE), err
    assert re.search(r"^ok +Slack:", out, re.MULTILINE)
    assert "not-the-right-secret-key-123" not in out + err


async def test_check_says_when_slack_rejects_the_token(env: dict, workdir: Path) -> None:
    env["SLACK_BOT_TOKEN"] = "xoxb-revoked-token-0000"
    code, out, err = await run(env, workdir, "check")
    assert code != 0
    assert re.search(r"^FAIL Slack: .*invalid_auth", err, re.MULTILINE), err
    assert "xoxb-revoked-token-0000" not in out + err


async def test_serves_healthz_and_stops_cleanly_on_sigterm(env: dict, workdir: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env=env,
        cwd=workdir,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        # PORT=0: the system picks a free port and the log says which.
        async with asyncio.timeout(15):
            while not (found := re.search(r"serving on port (\d+)", "".join(lines))):
                line = await process.stderr.readline()
                assert line, f"exited early: {''.join(lines)}"
                lines.append(line.decode())
        port = int(found.group(1))
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
            assert (await response.json())["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            rest = await process.stderr.read()
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 0, "".join(lines) + rest.decode()
    assert "stopped" in rest.decode()
