"""`/tencent/webhook` over HTTP on the real app: the spec's vectors, refusals, and what gets recorded.

The unit tests check the crypto as functions; these check what Tencent sees from the running server
(status and body), and that nothing refused leaves a digest job behind.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from yarl import URL

from bot.meeting.webhook import SUCCESS_BODY
from bot.store import tables
from tests.e2e.conftest import WEBHOOK_AES_KEY, WEBHOOK_TOKEN, RunningBot, StartBot
from tests.fakes.tencent import (
    SPEC_EXAMPLE_CREATOR,
    SPEC_EXAMPLE_MEETING_CODE,
    SPEC_EXAMPLE_MEETING_ID,
    SPEC_EXAMPLE_SUBJECT,
)
from tests.fakes.tencent_webhook import (
    encrypt,
    meeting_end_event,
    new_nonce,
    new_timestamp,
    sign,
)
from tests.meeting.test_webhook import DOC_DATA, DOC_NONCE, DOC_SIGNATURE, DOC_TIMESTAMP, DOC_TOKEN

# spec §4: the encrypted URL-check vector.
CHECK_TIMESTAMP = "1700000000789"
CHECK_NONCE = "13579"
CHECK_STR = "Q3stYC6hdFzMh9T8HCvyDAVcQcc+JbP3O5ztsc0B2dQ="
CHECK_SIGNATURE = "492132b1b46597a3ed7d7fc60d70a5c383eb11d4"
CHECK_PLAINTEXT = "0123456789abcdef-check"


async def get_check(
    bot: RunningBot, query: str, *, timestamp: str, nonce: str, signature: str
) -> tuple[int, str]:
    """A URL check with `query` sent exactly as written (no re-encoding by the client)."""
    target = URL(f"{bot.url}/tencent/webhook?{query}", encoded=True)
    headers = {"timestamp": timestamp, "nonce": nonce, "signature": signature}
    async with bot.session.get(target, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text()


async def post_raw(bot: RunningBot, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with bot.session.post(
        f"{bot.url}/tencent/webhook", data=body, headers=headers, allow_redirects=False
    ) as response:
        return response.status, await response.text()


async def post_data(bot: RunningBot, data: Any, *, token: str = WEBHOOK_TOKEN) -> tuple[int, str]:
    """POST `{"data": data}`, correctly signed over `data` when it is a string."""
    timestamp, nonce = new_timestamp(), new_nonce()
    signature = sign(token, timestamp, nonce, data) if isinstance(data, str) else "0" * 40
    headers = {"timestamp": timestamp, "nonce": nonce, "signature": signature}
    return await post_raw(bot, json.dumps({"data": data}).encode(), headers)


async def digest_jobs(bot: RunningBot) -> int:
    assert bot.server.running is not None
    async with bot.server.running.database.engine.connect() as connection:
        count = await connection.scalar(sa.select(sa.func.count()).select_from(tables.digest_jobs))
    return int(count or 0)


def spec_meeting_end(**overrides: Any) -> dict[str, Any]:
    return meeting_end_event(
        SPEC_EXAMPLE_MEETING_ID,
        SPEC_EXAMPLE_MEETING_CODE,
        SPEC_EXAMPLE_SUBJECT,
        SPEC_EXAMPLE_CREATOR,
        **overrides,
    )


async def test_plain_doc_vector_url_check_and_event(start_bot: StartBot) -> None:
    # Tencent's documentation example (spec §4, webhook-doc-vector.json): no EncodingAESKey.
    bot = await start_bot(tencent_webhook_token=DOC_TOKEN, tencent_webhook_aes_key=None)
    signed = {"timestamp": DOC_TIMESTAMP, "nonce": DOC_NONCE, "signature": DOC_SIGNATURE}
    plaintext = base64.b64decode(DOC_DATA + "=" * (-len(DOC_DATA) % 4)).decode()

    status, body = await get_check(bot, f"check_str={quote(DOC_DATA, safe='')}", **signed)
    assert (status, body) == (200, plaintext)
    assert json.loads(body)["event"] == "meeting.created"

    # The same vector as a POSTed event: accepted, and a meeting.created starts no digest.
    headers = {**signed, "Content-Type": "application/json"}
    status, body = await post_raw(bot, json.dumps({"data": DOC_DATA}).encode(), headers)
    assert (status, body) == (200, SUCCESS_BODY)
    assert await digest_jobs(bot) == 0


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(f"check_str={quote(CHECK_STR, safe='')}", id="percent-encoded"),
        pytest.param(f"check_str={CHECK_STR}", id="raw-plus-and-equals"),
        pytest.param(f"check_str={quote(CHECK_STR, safe='+')}", id="raw-plus"),
        pytest.param(f"other=1&check_str={quote(CHECK_STR, safe='')}&x=%2B", id="among-others"),
    ],
)
async def test_encrypted_url_check_vector_answers_the_plaintext(
    bot: RunningBot, query: str
) -> None:
    # The bot fixture runs with the vector's token and EncodingAESKey.
    assert (WEBHOOK_TOKEN, WEBHOOK_AES_KEY) == (
        "TokenTokenTokenTokenToken",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    )
    status, body = await get_check(
        bot, query, timestamp=CHECK_TIMESTAMP, nonce=CHECK_NONCE, signature=CHECK_SIGNATURE
    )
    assert (status, body) == (200, CHECK_PLAINTEXT)


async def test_url_check_refusals(bot: RunningBot) -> None:
    signed = {"timestamp": CHECK_TIMESTAMP, "nonce": CHECK_NONCE, "signature": CHECK_SIGNATURE}
    good = quote(CHECK_STR, safe="")
    wrong = {**signed, "signature": "0" * 40}
    assert (await get_check(bot, f"check_str={good}", **wrong))[0] == 401
    # A "+" decoded as a space (the classic form-decoding bug) no longer matches the signature.
    assert (await get_check(bot, f"check_str={good.replace('%2B', '%20')}", **signed))[0] == 401
    assert (await get_check(bot, "nothing=here", **signed))[0] == 400
    for garbage in ("", "%25%25%25", quote("not base64 at all!", safe="")):
        signature = sign(WEBHOOK_TOKEN, CHECK_TIMESTAMP, CHECK_NONCE, garbage.replace("%25", "%"))
        status, _ = await get_check(
            bot, f"check_str={garbage}", **{**signed, "signature": signature}
        )
        assert 400 <= status < 500


async def test_events_are_acknowledged_with_tencents_success_body(bot: RunningBot) -> None:
    status, body = await bot.webhook(spec_meeting_end())
    assert (status, body) == (200, "successfully received callback")
    assert await digest_jobs(bot) == 1


async def test_a_wrong_signature_gets_401_and_creates_no_job(bot: RunningBot) -> None:
    for signature in ("0" * 40, "", "not-hex", sign("OtherTokenOtherTokenOther", "1", "2", "3")):
        status, _ = await bot.webhook(spec_meeting_end(), signature=signature)
        assert status == 401
    # Signed with another Token: not from our Tencent console.
    status, _ = await bot.webhook(spec_meeting_end(), token="OtherTokenOtherTokenOther")
    assert status == 401
    assert await digest_jobs(bot) == 0
    assert bot.fake_slack.posted == []


def _encrypted(plaintext: bytes, key: str = WEBHOOK_AES_KEY) -> str:
    return encrypt(plaintext, key)


GARBAGE_DATA = {
    "not base64": "this is not base64!",
    "empty": "",
    "not whole AES blocks": base64.b64encode(b"0123456789").decode(),
    "wrong EncodingAESKey": _encrypted(json.dumps(spec_meeting_end()).encode(), "A" * 42 + "E"),
    "not JSON inside": _encrypted(b"\xff\xfe not json"),
    "JSON list": _encrypted(b"[1, 2, 3]"),
    "no event": _encrypted(b'{"payload": []}'),
    "payload not a list": _encrypted(b'{"event": "meeting.end", "payload": "x"}'),
    "meeting.end without meeting_info": _encrypted(
        b'{"event": "meeting.end", "payload": [{"operate_time": 1}]}'
    ),
    "meeting_info without meeting_id": _encrypted(
        b'{"event": "meeting.end", "payload": [{"meeting_info": {"subject": "x"}}]}'
    ),
}


async def test_garbage_gets_4xx_never_500_and_creates_no_job(bot: RunningBot) -> None:
    for name, data in GARBAGE_DATA.items():
        status, answer = await post_data(bot, data)
        assert 400 <= status < 500, (name, status, answer)
    headers = {"timestamp": new_timestamp(), "nonce": new_nonce(), "signature": "0" * 40}
    for raw in (b"", b"not json", b"[]", b'{"data": 5}', b'{"other": "x"}', b"\xff" * 64):
        status, answer = await post_raw(bot, raw, headers)
        assert 400 <= status < 500, (raw, status, answer)
    status, _ = await post_raw(bot, b'{"data": "' + b"A" * 300_000 + b'"}', headers)
    assert status == 413
    assert await digest_jobs(bot) == 0
    # And the server is still fine afterwards.
    assert (await bot.webhook(spec_meeting_end()))[0] == 200


async def test_webhook_is_404_while_no_token_is_configured(start_bot: StartBot) -> None:
    bot = await start_bot(tencent_webhook_token=None, tencent_webhook_aes_key=None)
    status, _ = await get_check(
        bot,
        f"check_str={quote(CHECK_STR, safe='')}",
        timestamp=CHECK_TIMESTAMP,
        nonce=CHECK_NONCE,
        signature=CHECK_SIGNATURE,
    )
    assert status == 404
    assert (await bot.webhook(spec_meeting_end()))[0] == 404
    assert await digest_jobs(bot) == 0


async def test_a_nul_in_a_subject_is_dropped_and_the_digest_kept(
    start_bot: StartBot, database_url: str
) -> None:
    # PostgreSQL refuses NUL in text; the delivery must not fail on every redelivery for it.
    bot = await start_bot(database_url)
    event = meeting_end_event("7100000000000000777", "777777777", "Weekly\u0000 sync", "tester")
    assert (await bot.webhook(event))[0] == 200
    assert bot.server.running is not None
    [job] = await bot.server.running.database.storage.digest_jobs.for_meeting("7100000000000000777")
    assert job.meeting.subject == "Weekly sync"
