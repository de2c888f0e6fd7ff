"""Tencent Meeting event subscription (webhooks): signature check, decryption and parsing.

Pure functions only, so that the HTTP layer stays a thin shell and every rule here is tested with
fixed examples (a signed event from Tencent's documentation, an encrypted URL check) and with
property tests. Failures are `WebhookError`s carrying the HTTP status to answer with; their
messages never contain the Token, the EncodingAESKey or the decrypted payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import unquote

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from bot.core.meetings import occurrence_key
from bot.core.records import (
    RECORDING_COMPLETED,
    RECORDING_DELETED,
    EndedMeeting,
    RecordingChange,
    RecordingEvent,
    recording_occurrence_key,
)
from bot.meeting.times import tencent_time

SUCCESS_BODY = "successfully received callback"
MEETING_END = "meeting.end"
#: a meeting's live stream started: which meetings can have replays at all
MEETING_LIVE_STARTED = "meeting.live-started"

_AES_BLOCK = 16
# WeCom-style senders pad to 32-byte blocks; accepting both costs nothing and avoids an outage.
_MAX_PAD = 32


class WebhookError(Exception):
    """A webhook request that must be refused; `http_status` is what to answer."""

    http_status: int = 400


class BadSignature(WebhookError):
    """The signature does not match the Token: not from Tencent, or the Token is wrong."""

    http_status = 401


class MalformedWebhook(WebhookError):
    """Undecodable: no `data`, bad base64, wrong EncodingAESKey, not the expected JSON."""

    http_status = 400


# --- signature --------------------------------------------------------------------------------


def compute_signature(*, token: str, timestamp: str, nonce: str, data: str) -> str:
    """lowercase hex SHA1 of the four strings sorted, then concatenated (Tencent's definition)."""
    joined = "".join(sorted([token, timestamp, nonce, data]))
    # surrogatepass: a hostile header must yield a mismatch, not a UnicodeEncodeError.
    return hashlib.sha1(joined.encode("utf-8", "surrogatepass")).hexdigest()


def verify_signature(*, token: str, timestamp: str, nonce: str, data: str, signature: str) -> bool:
    """Whether `signature` is Tencent's signature of the request, compared in constant time."""
    expected = compute_signature(token=token, timestamp=timestamp, nonce=nonce, data=data)
    received = signature.strip().lower().encode("utf-8", "surrogatepass")
    return hmac.compare_digest(expected.encode("ascii"), received)


def _require_signature(
    *, token: str, timestamp: str, nonce: str, data: str, signature: str
) -> None:
    if not verify_signature(
        token=token, timestamp=timestamp, nonce=nonce, data=data, signature=signature
    ):
        raise BadSignature("webhook signature does not match the configured token")


# --- decoding ---------------------------------------------------------------------------------


def aes_key_bytes(aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey; ValueError when it is not one.

    This is a configuration error (the operator's), not the sender's, so it is not a WebhookError:
    validate the key at start-up with this function.
    """
    try:
        key = base64.b64decode(aes_key.strip() + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("EncodingAESKey is not valid base64") from None
    if len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 characters (32 bytes once decoded)")
    return key


def _b64decode_lenient(text: str) -> bytes:
    # Tencent's own doc example drops the trailing "=": restore whatever padding is due.
    stripped = text.strip().rstrip("=")
    if not stripped:
        raise MalformedWebhook("webhook data is empty")
    try:
        return base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedWebhook("webhook data is not valid base64") from None


def _pkcs7_unpad(padded: bytes) -> bytes:
    pad = padded[-1] if padded else 0
    if not 1 <= pad <= min(_MAX_PAD, len(padded)) or padded[-pad:] != bytes([pad]) * pad:
        raise MalformedWebhook("webhook data does not decrypt with the configured EncodingAESKey")
    return padded[:-pad]


def _decrypt(ciphertext: bytes, key: bytes) -> bytes:
    if not ciphertext or len(ciphertext) % _AES_BLOCK:
        raise MalformedWebhook("encrypted webhook data is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:_AES_BLOCK])).decryptor()
    return _pkcs7_unpad(decryptor.update(ciphertext) + decryptor.finalize())


def decode_data(data: str, aes_key: str | None) -> bytes:
    """The plaintext of a `data` or `check_str` value: base64, then AES-256-CBC when a key is set.

    Raises MalformedWebhook for anything undecodable, ValueError for an invalid `aes_key`.
    """
    raw = _b64decode_lenient(data)
    if not aes_key:
        return raw
    return _decrypt(raw, aes_key_bytes(aes_key))


def check_str_from_query(query_string: str) -> str:
    """The `check_str` of a URL check's raw query string, percent-decoded with `+` kept as `+`.

    Pass aiohttp's `request.rel_url.raw_query_string`: `request.query` and `request.query_string`
    turn a raw `+` into a space, which breaks the signature.
    """
    for part in query_string.split("&"):
        name, _, value = part.partition("=")
        if unquote(name) == "check_str":
            return unquote(value)
    raise MalformedWebhook("URL check without check_str")


def answer_url_check(
    *, token: str, aes_key: str | None, timestamp: str, nonce: str, signature: str, check_str: str
) -> str:
    """The body to answer Tencent's URL check (GET) with: the plaintext of the decoded check_str.

    `check_str` is the query value already URL-decoded, where `%2B` became `+`.
    """
    _require_signature(
        token=token, timestamp=timestamp, nonce=nonce, data=check_str, signature=signature
    )
    try:
        return decode_data(check_str, aes_key).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedWebhook("check_str does not decode to UTF-8 text") from None


# --- parsing ----------------------------------------------------------------------------------


#: Times only decorate a digest, so an odd spelling must not cost the whole event.
LenientTime = Annotated[datetime | None, BeforeValidator(tencent_time)]


def _lenient_type(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class _WebhookModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL refuses NUL in text: one in a subject would make the delivery fail for good
        # (a 503 on every redelivery) and lose the digest. It carries no meaning; drop it.
        return value.replace("\x00", "") if isinstance(value, str) else value


class WebhookUser(_WebhookModel):
    userid: str = ""
    user_name: str = ""


class WebhookMeeting(_WebhookModel):
    meeting_id: str
    meeting_code: str = ""
    sub_meeting_id: str = ""
    subject: str = ""
    creator: WebhookUser | None = None
    #: older deliveries name the creator this way instead of `creator.userid`
    creator_id: str = ""
    start_time: LenientTime = None
    end_time: LenientTime = None
    #: 0 one-off, 1 recurring; anything unreadable counts as one-off (it only decorates)
    meeting_type: Annotated[int, BeforeValidator(_lenient_type)] = 0

    @property
    def creator_userid(self) -> str:
        return (self.creator.userid if self.creator else "") or self.creator_id


class WebhookRecordingFile(_WebhookModel):
    record_file_id: str = ""


class WebhookPayload(_WebhookModel):
    operate_time: LenientTime = None
    operator: WebhookUser | None = None
    meeting_info: WebhookMeeting | None = None
    #: the files of a `recording.completed` / `recording.deleted` (ids only, no URL)
    recording_files: list[WebhookRecordingFile] = Field(default_factory=list)


class WebhookEvent(_WebhookModel):
    event: str
    #: `trace_id`, or `unique_sequence` in older deliveries
    trace_id: str = Field(default="", validation_alias=AliasChoices("trace_id", "unique_sequence"))
    payload: list[WebhookPayload] = Field(default_factory=list)


def _describe(error: ValidationError) -> str:
    # Locations only: the values may be personal data and do not belong in logs.
    places = sorted({".".join(str(part) for part in e["loc"]) or "(root)" for e in error.errors()})
    return "webhook event has an unexpected shape at " + ", ".join(places[:5])


def parse_event(raw: bytes) -> WebhookEvent:
    """The event in a decrypted webhook body; MalformedWebhook unless it is an event envelope.

    Unknown fields and events are accepted; a `meeting.end` must say which meeting ended.
    """
    try:
        event = WebhookEvent.model_validate_json(raw)
    except ValidationError as error:
        raise MalformedWebhook(_describe(error)) from None
    if event.event in (MEETING_END, MEETING_LIVE_STARTED) and any(
        item.meeting_info is None for item in event.payload
    ):
        raise MalformedWebhook(f"{event.event} event without meeting_info")
    return event


def _data_field(body: bytes) -> str:
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedWebhook("webhook body is not JSON") from None
    data = envelope.get("data") if isinstance(envelope, dict) else None
    if not isinstance(data, str):
        raise MalformedWebhook('webhook body has no "data" string')
    return data


def read_delivery(
    *, token: str, aes_key: str | None, timestamp: str, nonce: str, signature: str, body: bytes
) -> WebhookEvent:
    """The event in a POSTed delivery (`{"data": ...}`): verified, decoded and parsed."""
    data = _data_field(body)
    _require_signature(
        token=token, timestamp=timestamp, nonce=nonce, data=data, signature=signature
    )
    return parse_event(decode_data(data, aes_key))


# --- what the rest of the app needs ----------------------------------------------------------


def _ended(info: WebhookMeeting, key: str | None = None) -> EndedMeeting:
    return EndedMeeting(
        occurrence_key=key
        or occurrence_key(
            info.meeting_id, sub_meeting_id=info.sub_meeting_id, start=info.start_time
        ),
        meeting_id=info.meeting_id,
        meeting_code=info.meeting_code,
        subject=info.subject,
        creator_userid=info.creator_userid,
        start_time=info.start_time,
        end_time=info.end_time,
        creator_name=info.creator.user_name if info.creator else "",
        meeting_type=info.meeting_type,
        sub_meeting_id=info.sub_meeting_id,
    )


def meetings_ended(event: WebhookEvent) -> list[EndedMeeting]:
    """One entry per payload item of a `meeting.end` event; nothing for any other event."""
    if event.event != MEETING_END:
        return []
    return [_ended(item.meeting_info) for item in event.payload if item.meeting_info is not None]


def meetings_went_live(event: WebhookEvent) -> list[str]:
    """The meeting ids of a `meeting.live-started` event; nothing for any other event."""
    if event.event != MEETING_LIVE_STARTED:
        return []
    return [item.meeting_info.meeting_id for item in event.payload if item.meeting_info is not None]


def recording_changes(event: WebhookEvent) -> list[RecordingChange]:
    """One entry per payload item of a `recording.completed` or `recording.deleted` event, its
    meeting keyed for that event's job; nothing for any other event."""
    kind: RecordingEvent
    if event.event == RECORDING_COMPLETED:
        kind = RECORDING_COMPLETED
    elif event.event == RECORDING_DELETED:
        kind = RECORDING_DELETED
    else:
        return []
    changes = []
    for item in event.payload:
        if item.meeting_info is None:
            continue
        files = tuple(f.record_file_id for f in item.recording_files if f.record_file_id)
        key = recording_occurrence_key(kind, item.meeting_info.meeting_id, files)
        changes.append(RecordingChange(kind, _ended(item.meeting_info, key), files))
    return changes
