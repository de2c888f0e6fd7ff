"""Tencent's side of the webhook for tests: encrypt, sign and deliver events the way Tencent does.

Events: `meeting.end`, and `recording.completed` / `recording.deleted` (spec section 6); any event
goes through the same envelope (`signed_delivery`, `deliver`).

Written independently of `bot.meeting.webhook` (it signs and encrypts; the bot verifies and
decrypts), so that a round trip through both checks one against the other.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from yarl import URL


def _key(aes_key: str) -> bytes:
    key = base64.b64decode(aes_key + "=")
    assert len(key) == 32, "an EncodingAESKey is 43 base64 characters"
    return key


def encrypt(plaintext: bytes, aes_key: str) -> str:
    """base64 of AES-256-CBC(PKCS#7(plaintext)), key from the EncodingAESKey, IV = key[:16]."""
    key = _key(aes_key)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def sign(token: str, timestamp: str, nonce: str, data: str) -> str:
    """lowercase hex SHA1 of the four strings sorted and concatenated."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, data])).encode()).hexdigest()


def encode(plaintext: bytes, aes_key: str | None) -> str:
    """The `data` / `check_str` string for a plaintext.

    Without a key the padding is dropped, as in Tencent's own documentation example.
    """
    if aes_key:
        return encrypt(plaintext, aes_key)
    return base64.b64encode(plaintext).decode("ascii").rstrip("=")


def new_timestamp() -> str:
    """Webhook timestamps are in milliseconds."""
    return str(int(time.time() * 1000))


def new_nonce() -> str:
    return str(secrets.randbelow(10**9) + 1)


def meeting_end_event(
    meeting_id: str,
    meeting_code: str,
    subject: str,
    creator_userid: str,
    *,
    end_time: int | None = None,
    start_time: int | None = None,
    trace_id: str | None = None,
    creator_name: str = "Creator",
) -> dict[str, Any]:
    """A `meeting.end` event in today's spelling; times in seconds, `operate_time` in ms."""
    end = int(time.time()) if end_time is None else end_time
    start = end - 3600 if start_time is None else start_time
    return {
        "event": "meeting.end",
        "trace_id": trace_id or str(uuid.uuid4()),
        "payload": [
            {
                "operate_time": end * 1000,
                "operator": {"userid": creator_userid},
                "meeting_end_type": 0,
                "meeting_info": {
                    "meeting_id": meeting_id,
                    "meeting_code": meeting_code,
                    "subject": subject,
                    "creator": {"userid": creator_userid, "user_name": creator_name},
                    "meeting_type": 0,
                    "start_time": start,
                    "end_time": end,
                },
            }
        ],
    }


RECORDING_COMPLETED = "recording.completed"
RECORDING_DELETED = "recording.deleted"


def recording_event(
    event: str,
    meeting_id: str,
    meeting_code: str,
    subject: str,
    creator_userid: str,
    record_file_ids: Sequence[str],
    *,
    start_time: int | None = None,
    end_time: int | None = None,
    trace_id: str | None = None,
    creator_name: str = "Creator",
    meeting_type: int = 0,
    media_set_type: int = 0,
) -> dict[str, Any]:
    """A `recording.completed` or `recording.deleted` event (spec section 6).

    `recording_files` holds only the ids: no URL and no meeting_record_id, as Tencent sends it.
    Times in seconds, `operate_time` in ms.
    """
    end = int(time.time()) if end_time is None else end_time
    start = end - 3600 if start_time is None else start_time
    return {
        "event": event,
        "trace_id": trace_id or str(uuid.uuid4()),
        "payload": [
            {
                "operate_time": int(time.time() * 1000),
                "operator": {"userid": creator_userid},
                "meeting_info": {
                    "meeting_id": meeting_id,
                    "meeting_code": meeting_code,
                    "subject": subject,
                    "creator": {"userid": creator_userid, "user_name": creator_name},
                    "meeting_type": meeting_type,
                    "start_time": start,
                    "end_time": end,
                    "media_set_type": media_set_type,
                },
                "recording_files": [{"record_file_id": i} for i in record_file_ids],
            }
        ],
    }


def recording_completed_event(
    meeting_id: str,
    meeting_code: str,
    subject: str,
    creator_userid: str,
    record_file_ids: Sequence[str],
    **details: Any,
) -> dict[str, Any]:
    """`recording.completed`: the meeting ended and its recording is transcoded."""
    return recording_event(
        RECORDING_COMPLETED,
        meeting_id,
        meeting_code,
        subject,
        creator_userid,
        record_file_ids,
        **details,
    )


def recording_deleted_event(
    meeting_id: str,
    meeting_code: str,
    subject: str,
    creator_userid: str,
    record_file_ids: Sequence[str],
    **details: Any,
) -> dict[str, Any]:
    """`recording.deleted`: these files of the meeting's recording were removed."""
    return recording_event(
        RECORDING_DELETED,
        meeting_id,
        meeting_code,
        subject,
        creator_userid,
        record_file_ids,
        **details,
    )


def signed_delivery(
    event: dict[str, Any],
    *,
    token: str,
    aes_key: str | None,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """The headers and body of a POSTed event, without sending it (for pure tests)."""
    data = encode(json.dumps(event, ensure_ascii=False).encode("utf-8"), aes_key)
    timestamp = timestamp or new_timestamp()
    nonce = nonce or new_nonce()
    headers = {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": sign(token, timestamp, nonce, data),
        "Content-Type": "application/json",
    }
    return headers, json.dumps({"data": data}).encode("utf-8")


async def deliver(
    session: aiohttp.ClientSession,
    url: str,
    event: dict[str, Any],
    *,
    token: str,
    aes_key: str | None,
    timestamp: str | None = None,
    nonce: str | None = None,
    signature: str | None = None,
) -> tuple[int, str]:
    """POST an event as Tencent does; returns (status, body). `signature` overrides the real one."""
    headers, body = signed_delivery(
        event, token=token, aes_key=aes_key, timestamp=timestamp, nonce=nonce
    )
    if signature is not None:
        headers["signature"] = signature
    async with session.post(url, data=body, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text()


async def url_check(
    session: aiohttp.ClientSession,
    url: str,
    *,
    token: str,
    aes_key: str | None,
    plaintext: str,
    timestamp: str | None = None,
    nonce: str | None = None,
    signature: str | None = None,
    escape_plus: bool = True,
) -> tuple[int, str]:
    """The URL-check GET (also Tencent's heartbeat); returns (status, body).

    `escape_plus=False` leaves `+` unescaped on the URL, to test a server's lenient decoding.
    """
    check_str = encode(plaintext.encode("utf-8"), aes_key)
    timestamp = timestamp or new_timestamp()
    nonce = nonce or new_nonce()
    if signature is None:
        signature = sign(token, timestamp, nonce, check_str)
    headers = {"timestamp": timestamp, "nonce": nonce, "signature": signature}
    # Encode every reserved character ("+" as %2B, "=" as %3D) and stop aiohttp from re-encoding.
    escaped = quote(check_str, safe="" if escape_plus else "+")
    target = URL(f"{url}?check_str={escaped}", encoded=True)
    async with session.get(target, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text()
