"""Tencent Meeting webhook crypto and parsing: the spec's vectors, refusals, and property tests."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.records import EndedMeeting
from bot.meeting.webhook import (
    SUCCESS_BODY,
    BadSignature,
    MalformedWebhook,
    WebhookError,
    WebhookEvent,
    aes_key_bytes,
    answer_url_check,
    check_str_from_query,
    decode_data,
    meetings_ended,
    meetings_went_live,
    parse_event,
    read_delivery,
    verify_signature,
)
from tests.fakes.tencent_webhook import (
    deliver,
    encrypt,
    meeting_end_event,
    sign,
    signed_delivery,
    url_check,
)

# Tencent's documentation example (spec §4; webhook-doc-vector.json), no EncodingAESKey.
DOC_TOKEN = "bVPU6F8Htxl5XkAbp3jGV2xWp"
DOC_TIMESTAMP = "1609239040864"
DOC_NONCE = "14964161"
DOC_DATA = (
    "eyJldmVudCI6Im1lZXRpbmcuY3JlYXRlZCIsInVuaXF1ZV9zZXF1ZW5jZSI6ImYyMDA5NmVlLThhYzgtNGRmMi1hN2Rl"
    "LTA1NzQ2NDlmMjExYiIsInBheWxvYWQiOlt7Im9wZXJhdGVfdGltZSI6IjIwMjAtMTItMjkgMTc6NDE6MDYiLCJvcGVy"
    "YXRvciI6eyJ1c2VyaWQiOiJ0ZXN0ZXIwMDAwNmJhNWJhYjMzOTg1OGMxM2M5MzBjY2E5NTY4NCJ9LCJtZWV0aW5nX2lu"
    "Zm8iOnsibWVldGluZ19pZCI6IjYwNTg4OTAzODU0ODA5MjEwNTIiLCJtZWV0aW5nX2NvZGUiOiI1MzA4MTI0NTIiLCJz"
    "dWJqZWN0IjoibWVkaWEgdGVzdGVyIG1lZXRpbmciLCJjcmVhdG9yX2lkIjoidGVzdGVyMDAwMDZiYTViYWIzMzk4NThj"
    "MTNjOTMwY2NhOTU2ODQiLCJob3N0cyI6WyJ0ZXN0ZXIwMDAwNmJhNWJhYjMzOTg1OGMxM2M5MzBjY2E5NTY4NCJdLCJt"
    "ZWV0aW5nX3R5cGUiOjAsInN0YXJ0X3RpbWUiOiIyMDIwLTEyLTI5IDE3OjQxOjA0IiwiZW5kX3RpbWUiOiIyMDIwLTEy"
    "LTI5IDE4OjAxOjA0In19XX0"
)
DOC_SIGNATURE = "b11e507817336a91d7df0c8536ee2aca18bbbae8"
DOC_CREATOR = "tester00006ba5bab339858c13c930cca95684"

# The encrypted URL-check vector (spec §4).
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
AES_TOKEN = "TokenTokenTokenTokenToken"
AES_TIMESTAMP = "1700000000789"
AES_NONCE = "13579"
AES_CHECK_STR = "Q3stYC6hdFzMh9T8HCvyDAVcQcc+JbP3O5ztsc0B2dQ="
AES_SIGNATURE = "492132b1b46597a3ed7d7fc60d70a5c383eb11d4"
AES_BODY = "0123456789abcdef-check"

OTHER_AES_KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# --- the spec's vectors --------------------------------------------------------------------------


def test_doc_vector_signature_verifies() -> None:
    assert len(DOC_DATA) % 4 != 0, "the doc vector is unpadded base64"
    assert verify_signature(
        token=DOC_TOKEN,
        timestamp=DOC_TIMESTAMP,
        nonce=DOC_NONCE,
        data=DOC_DATA,
        signature=DOC_SIGNATURE,
    )


def test_doc_vector_decodes_into_a_meeting_created_event_with_old_spellings() -> None:
    event = parse_event(decode_data(DOC_DATA, None))

    assert event.event == "meeting.created"
    assert event.trace_id == "f20096ee-8ac8-4df2-a7de-0574649f211b"  # from unique_sequence
    [item] = event.payload
    assert item.operator is not None and item.operator.userid == DOC_CREATOR
    # "2020-12-29 17:41:06" is China time (UTC+8)
    assert item.operate_time == datetime(2020, 12, 29, 9, 41, 6, tzinfo=UTC)
    info = item.meeting_info
    assert info is not None
    assert info.meeting_id == "6058890385480921052"
    assert info.meeting_code == "530812452"
    assert info.subject == "media tester meeting"
    assert info.creator_userid == DOC_CREATOR
    assert info.start_time == datetime(2020, 12, 29, 9, 41, 4, tzinfo=UTC)
    assert info.end_time == datetime(2020, 12, 29, 10, 1, 4, tzinfo=UTC)
    assert meetings_ended(event) == [], "meeting.created is not an end"


def test_doc_vector_through_read_delivery() -> None:
    event = read_delivery(
        token=DOC_TOKEN,
        aes_key=None,
        timestamp=DOC_TIMESTAMP,
        nonce=DOC_NONCE,
        signature=DOC_SIGNATURE,
        body=json.dumps({"data": DOC_DATA}).encode(),
    )
    assert event.event == "meeting.created"


def test_encrypted_url_check_vector_answers_the_plaintext() -> None:
    body = answer_url_check(
        token=AES_TOKEN,
        aes_key=AES_KEY,
        timestamp=AES_TIMESTAMP,
        nonce=AES_NONCE,
        signature=AES_SIGNATURE,
        check_str=AES_CHECK_STR,
    )
    assert body == AES_BODY


def test_test_side_helpers_reproduce_the_vectors() -> None:
    assert sign(DOC_TOKEN, DOC_TIMESTAMP, DOC_NONCE, DOC_DATA) == DOC_SIGNATURE
    assert sign(AES_TOKEN, AES_TIMESTAMP, AES_NONCE, AES_CHECK_STR) == AES_SIGNATURE
    # the vector's plaintext was padded to a 16-byte block: our encryptor must do the same
    assert encrypt(AES_BODY.encode(), AES_KEY) == AES_CHECK_STR


def test_success_body_is_what_tencent_expects() -> None:
    assert SUCCESS_BODY == "successfully received callback"


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "0" * 40,
        DOC_SIGNATURE[:-1],
        DOC_SIGNATURE + "0",
        AES_SIGNATURE,
        "b11e507817336a91d7df0c8536ee2aca18bbbae\u00e9",
    ],
)
def test_wrong_signature_is_refused(signature: str) -> None:
    assert not verify_signature(
        token=DOC_TOKEN,
        timestamp=DOC_TIMESTAMP,
        nonce=DOC_NONCE,
        data=DOC_DATA,
        signature=signature,
    )
    with pytest.raises(BadSignature) as caught:
        read_delivery(
            token=DOC_TOKEN,
            aes_key=None,
            timestamp=DOC_TIMESTAMP,
            nonce=DOC_NONCE,
            signature=signature,
            body=json.dumps({"data": DOC_DATA}).encode(),
        )
    assert caught.value.http_status == 401


def test_signature_covers_every_part() -> None:
    good = {"token": DOC_TOKEN, "timestamp": DOC_TIMESTAMP, "nonce": DOC_NONCE, "data": DOC_DATA}
    for name in good:
        changed = {**good, name: good[name] + "x"}
        assert not verify_signature(**changed, signature=DOC_SIGNATURE), name


def test_uppercase_signature_is_accepted() -> None:
    assert verify_signature(
        token=DOC_TOKEN,
        timestamp=DOC_TIMESTAMP,
        nonce=DOC_NONCE,
        data=DOC_DATA,
        signature=DOC_SIGNATURE.upper(),
    )


def test_url_check_with_wrong_signature_raises_bad_signature() -> None:
    with pytest.raises(BadSignature):
        answer_url_check(
            token="SomeOtherTokenSomeOtherTo",
            aes_key=AES_KEY,
            timestamp=AES_TIMESTAMP,
            nonce=AES_NONCE,
            signature=AES_SIGNATURE,
            check_str=AES_CHECK_STR,
        )


def test_url_check_where_plus_became_a_space_is_refused() -> None:
    # what a server that decodes "+" as a space would hand over: the signature no longer matches
    with pytest.raises(BadSignature):
        answer_url_check(
            token=AES_TOKEN,
            aes_key=AES_KEY,
            timestamp=AES_TIMESTAMP,
            nonce=AES_NONCE,
            signature=AES_SIGNATURE,
            check_str=AES_CHECK_STR.replace("+", " "),
        )


def test_error_messages_never_contain_the_secrets() -> None:
    errors: list[WebhookError] = []
    for signature, check_str in [("bad", AES_CHECK_STR), (None, "!!!")]:
        with pytest.raises(WebhookError) as caught:
            answer_url_check(
                token=AES_TOKEN,
                aes_key=AES_KEY,
                timestamp=AES_TIMESTAMP,
                nonce=AES_NONCE,
                signature=signature or sign(AES_TOKEN, AES_TIMESTAMP, AES_NONCE, check_str),
                check_str=check_str,
            )
        errors.append(caught.value)
    for error in errors:
        assert AES_TOKEN not in str(error)
        assert AES_KEY not in str(error)


@pytest.mark.parametrize(
    ("data", "aes_key"),
    [
        pytest.param("", None, id="empty"),
        pytest.param("not base64!", None, id="bad-base64-chars"),
        pytest.param("QUJDR", None, id="bad-base64-length"),
        pytest.param("ü" * 8, None, id="non-ascii"),
        pytest.param(_b64(b"x" * 17), AES_KEY, id="not-whole-aes-blocks"),
        pytest.param(_b64(bytes(16)), AES_KEY, id="bad-pkcs7-padding"),
        pytest.param(AES_CHECK_STR, OTHER_AES_KEY, id="wrong-key"),
    ],
)
def test_undecodable_data_is_malformed(data: str, aes_key: str | None) -> None:
    with pytest.raises(MalformedWebhook) as caught:
        decode_data(data, aes_key)
    assert caught.value.http_status == 400


def test_padded_and_unpadded_base64_decode_alike() -> None:
    assert decode_data("YWJjZA==", None) == decode_data("YWJjZA", None) == b"abcd"


def test_invalid_aes_key_is_a_configuration_error_not_a_webhook_error() -> None:
    for key in ["short", "a" * 44, "!" * 43]:
        with pytest.raises(ValueError) as caught:
            aes_key_bytes(key)
        assert not isinstance(caught.value, WebhookError)
    assert len(aes_key_bytes(AES_KEY)) == 32


_END_INFO = {"meeting_id": "1", "meeting_code": "123456789", "subject": "s"}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xff\xfe not utf-8", id="not-utf8"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="json-list"),
        pytest.param(b'"meeting.end"', id="json-string"),
        pytest.param(b'{"payload": []}', id="no-event-name"),
        pytest.param(b'{"event": "meeting.end", "payload": "x"}', id="payload-not-list"),
        pytest.param(b'{"event": "meeting.end", "payload": [1]}', id="payload-item-not-object"),
        pytest.param(b'{"event": "meeting.end", "payload": [{}]}', id="end-without-meeting"),
        pytest.param(
            json.dumps(
                {"event": "meeting.end", "payload": [{"meeting_info": {"subject": "no id"}}]}
            ).encode(),
            id="missing-meeting-id",
        ),
        pytest.param(
            json.dumps(
                {"event": "meeting.end", "payload": [{"meeting_info": {**_END_INFO, "creator": 5}}]}
            ).encode(),
            id="creator-not-object",
        ),
    ],
)
def test_wrongly_shaped_events_are_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        parse_event(raw)


def test_read_delivery_refuses_bodies_without_a_data_string() -> None:
    for body in [b"", b"{}", b'{"data": 5}', b"[]", b"\xff"]:
        with pytest.raises(MalformedWebhook):
            read_delivery(
                token="t", aes_key=None, timestamp="1", nonce="2", signature="x", body=body
            )


# --- lenient parsing -----------------------------------------------------------------------------


def test_meeting_end_in_todays_spelling() -> None:
    event = meeting_end_event(
        "7567173273889276131", "806146667", "Weekly", "alice", end_time=1_700_003_600
    )
    event["payload"][0]["meeting_info"]["start_time"] = 1_700_000_000
    [ended] = meetings_ended(parse_event(json.dumps(event).encode()))
    assert ended == EndedMeeting(
        occurrence_key="meeting.end:7567173273889276131:1700000000",
        meeting_id="7567173273889276131",
        meeting_code="806146667",
        subject="Weekly",
        creator_userid="alice",
        start_time=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        end_time=datetime(2023, 11, 14, 23, 13, 20, tzinfo=UTC),
        creator_name="Creator",
    )


def test_meeting_end_keeps_what_a_digest_says_about_a_recurring_occurrence() -> None:
    event = meeting_end_event("7567173273889276131", "806146667", "Weekly", "alice")
    info = event["payload"][0]["meeting_info"]
    info.update(meeting_type=1, sub_meeting_id="1700000000", creator={"userid": "alice"})
    [ended] = meetings_ended(parse_event(json.dumps(event).encode()))
    assert (ended.meeting_type, ended.sub_meeting_id, ended.creator_name) == (1, "1700000000", "")
    assert ended.occurrence_key == "meeting.end:7567173273889276131:1700000000"


def test_live_started_names_the_meetings_that_went_live_and_ends_none() -> None:
    event = meeting_end_event("7567173273889276131", "806146667", "Weekly", "alice")
    event["event"] = "meeting.live-started"
    parsed = parse_event(json.dumps(event).encode())
    assert meetings_went_live(parsed) == ["7567173273889276131"]
    assert meetings_ended(parsed) == []
    ended = parse_event(json.dumps({**event, "event": "meeting.end"}).encode())
    assert meetings_went_live(ended) == []


def test_live_started_without_meeting_info_is_malformed() -> None:
    raw = json.dumps({"event": "meeting.live-started", "payload": [{"operate_time": 1}]})
    with pytest.raises(MalformedWebhook):
        parse_event(raw.encode())


def test_lenient_fields_and_times() -> None:
    raw = json.dumps(
        {
            "event": "meeting.end",
            "unique_sequence": "seq-1",
            "payload": [
                {
                    "operate_time": 1_700_003_600_123,  # ms
                    "meeting_info": {
                        "meeting_id": 12345678901234567890,  # a number beyond int64
                        "meeting_code": 806146667,
                        "creator_id": "bob",
                        "start_time": "1700000000",
                        "end_time": "whenever",
                        "hosts": ["bob"],
                        "new_field": {"ignored": True},
                    },
                },
                {"meeting_info": {"meeting_id": "2", "end_time": 0}},
            ],
        }
    ).encode()
    event = parse_event(raw)
    assert event.trace_id == "seq-1"
    assert event.payload[0].operate_time == datetime(2023, 11, 14, 23, 13, 20, 123000, tzinfo=UTC)
    info = event.payload[0].meeting_info
    assert info is not None
    assert info.start_time == datetime.fromtimestamp(1_700_000_000, UTC)
    assert info.end_time is None, "an unreadable time is dropped, not fatal"
    first, second = meetings_ended(event)
    assert first.meeting_id == "12345678901234567890"
    assert first.meeting_code == "806146667"
    assert first.creator_userid == "bob"
    assert first.occurrence_key == "meeting.end:12345678901234567890:1700000000"
    assert (second.meeting_id, second.creator_userid) == ("2", "")


def test_creator_object_wins_over_creator_id() -> None:
    info = {**_END_INFO, "creator": {"userid": "new"}, "creator_id": "old"}
    raw = json.dumps({"event": "meeting.end", "payload": [{"meeting_info": info}]}).encode()
    [ended] = meetings_ended(parse_event(raw))
    assert ended.creator_userid == "new"


def test_other_events_are_parsed_but_end_nothing() -> None:
    for name in ["meeting.started", "recording.completed", "x.unknown"]:
        event = parse_event(json.dumps({"event": name, "payload": [{"anything": 1}]}).encode())
        assert event.event == name
        assert meetings_ended(event) == []


def test_one_entry_per_payload_item() -> None:
    event = meeting_end_event("1", "111111111", "a", "u1")
    event["payload"].append(meeting_end_event("2", "222222222", "b", "u2")["payload"][0])
    ended = meetings_ended(parse_event(json.dumps(event).encode()))
    assert [m.meeting_id for m in ended] == ["1", "2"]


def test_occurrence_key_is_stable_across_redeliveries_and_distinct_per_meeting() -> None:
    def key(meeting_id: str, *, end_time: int, trace_id: str) -> str:
        event = meeting_end_event(
            meeting_id, "806146667", "s", "u", end_time=end_time, start_time=1000, trace_id=trace_id
        )
        [ended] = meetings_ended(parse_event(json.dumps(event).encode()))
        return ended.occurrence_key

    first = key("1", end_time=5000, trace_id="a")
    assert first == key("1", end_time=5001, trace_id="b")
    assert first != key("2", end_time=5000, trace_id="a")


def test_occurrence_key_separates_occurrences_of_a_recurring_meeting() -> None:
    base = {"meeting_id": "1", "meeting_code": "806146667"}
    keys = {
        meetings_ended(parse_event(json.dumps(body).encode()))[0].occurrence_key
        for body in (
            {"event": "meeting.end", "payload": [{"meeting_info": {**base, **extra}}]}
            for extra in ({"sub_meeting_id": "s1"}, {"sub_meeting_id": "s2"})
        )
    }
    assert len(keys) == 2


# --- properties ----------------------------------------------------------------------------------

# mostly base64-ish text, where the interesting failures are, and some of anything
_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= -_\n"
_WEBHOOK_TEXT = st.text(alphabet=st.sampled_from(_B64_ALPHABET)) | st.text()


@given(data=_WEBHOOK_TEXT, with_key=st.booleans())
def test_decoder_returns_or_raises_a_webhook_error_on_any_text(data: str, with_key: bool) -> None:
    try:
        result = decode_data(data, AES_KEY if with_key else None)
    except WebhookError:
        return
    assert isinstance(result, bytes)


@given(parts=st.lists(st.text(), min_size=5, max_size=5))
def test_verify_signature_answers_a_bool_for_any_text(parts: list[str]) -> None:
    token, timestamp, nonce, data, signature = parts
    assert not verify_signature(
        token=token, timestamp=timestamp, nonce=nonce, data=data, signature=signature + "x"
    )


@given(raw=st.binary(max_size=2000))
def test_parser_returns_or_raises_a_webhook_error_on_any_bytes(raw: bytes) -> None:
    with contextlib.suppress(WebhookError):
        parse_event(raw)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "event",
                    "payload",
                    "meeting_info",
                    "meeting_id",
                    "creator",
                    "creator_id",
                    "userid",
                    "start_time",
                    "end_time",
                    "operate_time",
                    "trace_id",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@given(value=_JSON, key=st.sampled_from([None, AES_KEY]), signature=st.text(max_size=50))
def test_read_delivery_returns_or_raises_a_webhook_error_on_any_json(
    value: object, key: str | None, signature: str
) -> None:
    payload = json.dumps(value).encode()
    data = encrypt(payload, key) if key else _b64(payload)
    body = json.dumps({"data": data}).encode()
    for sig in [signature, sign("tok", "1", "2", data)]:
        with contextlib.suppress(WebhookError):
            read_delivery(
                token="tok", aes_key=key, timestamp="1", nonce="2", signature=sig, body=body
            )


# JSON carries any Unicode except lone surrogates
_CHARS = st.characters(exclude_categories=["Cs"])
_ID_TEXT = st.text(_CHARS, min_size=1, max_size=40)
_TOKEN = st.from_regex(r"\A[A-Za-z0-9]{25}\Z")


@settings(max_examples=200)
@given(
    meeting_id=st.from_regex(r"\A[0-9]{19,20}\Z"),
    meeting_code=st.from_regex(r"\A[0-9]{9,12}\Z"),
    subject=st.text(_CHARS, max_size=200),
    creator=_ID_TEXT,
    end_time=st.integers(min_value=1, max_value=4_000_000_000),
    trace_id=_ID_TEXT,
    key=st.sampled_from([None, AES_KEY, OTHER_AES_KEY]),
    token=_TOKEN,
)
def test_round_trip_sign_encrypt_then_verify_decrypt_parse(
    meeting_id: str,
    meeting_code: str,
    subject: str,
    creator: str,
    end_time: int,
    trace_id: str,
    key: str | None,
    token: str,
) -> None:
    event = meeting_end_event(
        meeting_id, meeting_code, subject, creator, end_time=end_time, trace_id=trace_id
    )
    headers, body = signed_delivery(event, token=token, aes_key=key)

    parsed = read_delivery(
        token=token,
        aes_key=key,
        timestamp=headers["timestamp"],
        nonce=headers["nonce"],
        signature=headers["signature"],
        body=body,
    )

    def kept(text: str) -> str:  # NUL is dropped: PostgreSQL cannot store it (see _WebhookModel)
        return text.replace("\x00", "")

    assert parsed.event == "meeting.end"
    assert parsed.trace_id == kept(trace_id)
    assert [
        dataclasses.replace(m, start_time=None, end_time=None, creator_name="")
        for m in meetings_ended(parsed)
    ] == [
        EndedMeeting(
            occurrence_key=f"meeting.end:{meeting_id}:{end_time - 3600 if end_time > 3600 else ''}",
            meeting_id=meeting_id,
            meeting_code=meeting_code,
            subject=kept(subject),
            creator_userid=kept(creator),
        )
    ]


@given(plaintext=st.text(_CHARS, max_size=300), token=_TOKEN)
def test_url_check_round_trip(plaintext: str, token: str) -> None:
    check_str = encrypt(plaintext.encode(), AES_KEY)
    signature = sign(token, "1700000000000", "42", check_str)
    body = answer_url_check(
        token=token,
        aes_key=AES_KEY,
        timestamp="1700000000000",
        nonce="42",
        signature=signature,
        check_str=check_str,
    )
    assert body == plaintext


@given(check_str=st.text(_CHARS, max_size=60))
def test_check_str_from_query_undoes_percent_encoding_only(check_str: str) -> None:
    assert check_str_from_query(f"a=1&check_str={quote(check_str, safe='')}&b=2") == check_str


def test_check_str_keeps_a_raw_plus() -> None:
    assert check_str_from_query("check_str=ab+c%2Bd%3D") == "ab+c+d="
    with pytest.raises(MalformedWebhook):
        check_str_from_query("other=1")


# --- the test-side sender over HTTP --------------------------------------------------------------
# A stand-in endpoint built only from the pure functions: it proves that what `deliver` and
# `url_check` put on the wire is what those functions accept (the real endpoint is tested e2e).


@pytest.fixture
def received() -> list[WebhookEvent]:
    return []


@pytest.fixture
async def endpoint(received: list[WebhookEvent]) -> AsyncIterator[str]:
    async def check(request: web.Request) -> web.Response:
        try:
            body = answer_url_check(
                token=AES_TOKEN,
                aes_key=AES_KEY,
                timestamp=request.headers.get("timestamp", ""),
                nonce=request.headers.get("nonce", ""),
                signature=request.headers.get("signature", ""),
                check_str=check_str_from_query(request.rel_url.raw_query_string),
            )
        except WebhookError as error:
            return web.Response(status=error.http_status, text=type(error).__name__)
        return web.Response(text=body)

    async def event(request: web.Request) -> web.Response:
        try:
            received.append(
                read_delivery(
                    token=AES_TOKEN,
                    aes_key=AES_KEY,
                    timestamp=request.headers.get("timestamp", ""),
                    nonce=request.headers.get("nonce", ""),
                    signature=request.headers.get("signature", ""),
                    body=await request.read(),
                )
            )
        except WebhookError as error:
            return web.Response(status=error.http_status, text=type(error).__name__)
        return web.Response(text=SUCCESS_BODY)

    app = web.Application()
    app.router.add_get("/tencent/webhook", check)
    app.router.add_post("/tencent/webhook", event)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/tencent/webhook"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("escape_plus", [True, False])
async def test_url_check_over_http_answers_the_vector(endpoint: str, escape_plus: bool) -> None:
    async with aiohttp.ClientSession() as session:
        answer = await url_check(
            session,
            endpoint,
            token=AES_TOKEN,
            aes_key=AES_KEY,
            plaintext=AES_BODY,
            timestamp=AES_TIMESTAMP,
            nonce=AES_NONCE,
            escape_plus=escape_plus,
        )
    assert answer == (200, AES_BODY)


async def test_url_check_over_http_with_a_wrong_signature_is_401(endpoint: str) -> None:
    async with aiohttp.ClientSession() as session:
        status, _ = await url_check(
            session, endpoint, token=AES_TOKEN, aes_key=AES_KEY, plaintext="x", signature="0" * 40
        )
    assert status == 401


async def test_deliver_over_http(endpoint: str, received: list[WebhookEvent]) -> None:
    event = meeting_end_event("7567173273889276131", "806146667", "Weekly", "alice")
    async with aiohttp.ClientSession() as session:
        ok = await deliver(session, endpoint, event, token=AES_TOKEN, aes_key=AES_KEY)
        forged = await deliver(
            session, endpoint, event, token=AES_TOKEN, aes_key=AES_KEY, signature="f" * 40
        )
        wrong_key = await deliver(session, endpoint, event, token=AES_TOKEN, aes_key=OTHER_AES_KEY)

    assert ok == (200, SUCCESS_BODY)
    assert forged[0] == 401
    assert wrong_key[0] == 400
    [parsed] = received
    assert [m.meeting_id for m in meetings_ended(parsed)] == ["7567173273889276131"]
