"""Request signing: Tencent's own vectors, the headers, the query builder, and a property test that
the fake's verification (which mirrors Tencent's) accepts exactly what the client signs."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.meeting.signing import (
    Credentials,
    build_query,
    build_uri,
    safe_token,
    sign,
    signed_headers,
)
from tests.fakes.tencent import (
    BAD_IDENTITY,
    BAD_SIGNATURE,
    CLOCK_SKEW,
    TIMESTAMP_SKEW,
    Rejection,
    verify_request,
)

# Copied from spec/tencent-meeting.md §2 (produced by Tencent's Python SDK).
VECTOR_SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
VECTOR_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
VECTORS = [
    (
        12345678,
        1700000000,
        "/v1/meetings/7567173273889276131/live_play/replays?userid=tester1&instanceid=1",
        "OGU5ZDc3NTkzMTFmNzhmNzI2MGM4MzM0Y2M5NjAzZjNlMDQzN2VkMGM5MDMwNGIxNTc1ZmJjOWFhYmYyZDdmYQ==",
    ),
    (
        87654321,
        1700000000,
        "/v1/meetings/live_play/replays?meeting_code=806146667&userid=tester1&instanceid=1",
        "MWZmYTQ2MDMwNjY4ODM5NzU4Nzg4ODI0N2Q3YzEzN2M4YTM0NDNjNGI4ZjFmNmQ0MzhjYzZkMjAyYWMxNmRmNQ==",
    ),
]

CREDENTIALS = Credentials("211000001", "AKIDpropertyTestKey", "property-secret-key")
NOW = 1_700_000_000


@pytest.mark.parametrize(("nonce", "timestamp", "uri", "expected"), VECTORS)
def test_spec_vectors(nonce: int, timestamp: int, uri: str, expected: str) -> None:
    for as_text in (False, True):
        signature = sign(
            secret_id=VECTOR_SECRET_ID,
            secret_key=VECTOR_SECRET_KEY,
            method="GET",
            uri=uri,
            body="",
            timestamp=str(timestamp) if as_text else timestamp,
            nonce=str(nonce) if as_text else nonce,
        )
        assert signature == expected
        assert len(signature) == 88


def test_spec_vector_uris_are_what_the_builder_produces() -> None:
    by_id = build_uri(
        "/v1/meetings/7567173273889276131/live_play/replays",
        [("userid", "tester1"), ("instanceid", 1)],
    )
    by_code = build_uri(
        "/v1/meetings/live_play/replays",
        [("meeting_code", "806146667"), ("userid", "tester1"), ("instanceid", 1)],
    )
    assert [by_id, by_code] == [uri for _, _, uri, _ in VECTORS]


def test_signed_headers_carry_everything_tencent_asks_for() -> None:
    credentials = Credentials("211000001", VECTOR_SECRET_ID, VECTOR_SECRET_KEY)
    nonce, timestamp, uri, expected = VECTORS[0]
    headers = signed_headers(
        credentials, method="GET", uri=uri, body="", timestamp=timestamp, nonce=nonce
    )
    assert headers == {
        "X-TC-Key": VECTOR_SECRET_ID,
        "X-TC-Timestamp": "1700000000",
        "X-TC-Nonce": "12345678",
        "X-TC-Signature": expected,
        "AppId": "211000001",
        "X-TC-Registered": "1",
        "Content-Type": "application/json",
    }


def test_sdk_id_is_sent_only_when_assigned() -> None:
    def headers_for(sdk_id: str | None) -> dict[str, str]:
        credentials = dataclasses.replace(CREDENTIALS, sdk_id=sdk_id)
        return signed_headers(credentials, method="GET", uri="/v1/x", body="", timestamp=1, nonce=1)

    assert "SdkId" not in headers_for(None)
    assert "SdkId" not in headers_for("")
    assert headers_for("18000001")["SdkId"] == "18000001"


def test_credentials_repr_hides_the_secret_key() -> None:
    assert "property-secret-key" not in repr(CREDENTIALS)
    assert "AKIDpropertyTestKey" in repr(CREDENTIALS)


def test_query_keeps_order_and_values_verbatim() -> None:
    query = build_query([("z", "a.b_c~d-e"), ("a", 1), ("m", "ABC123")])
    assert query == "z=a.b_c~d-e&a=1&m=ABC123"
    assert build_uri("/v1/x") == "/v1/x"


@pytest.mark.parametrize(
    "value",
    ["", "a b", "a&b=c", "a+b", "100%", "tester@corp", "名字", "a/b", "a?b", "a#b", "é", "a\nb"],
)
def test_values_that_would_need_encoding_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="userid"):
        build_query([("userid", value)])
    with pytest.raises(ValueError):
        safe_token(value)


def test_refusal_does_not_echo_the_value() -> None:
    with pytest.raises(ValueError) as caught:
        safe_token("secret stuff", what="userid")
    assert "secret stuff" not in str(caught.value)


# --- property: the fake's verification accepts what we sign, and only that ----------------------

SAFE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-"
userids = st.text(alphabet=SAFE_ALPHABET, min_size=1, max_size=40)
codes = st.from_regex(r"[0-9]{9,12}", fullmatch=True)
meeting_ids = st.from_regex(r"[1-9][0-9]{18,19}", fullmatch=True)
nonces = st.integers(min_value=1, max_value=2**31 - 1)
skews = st.integers(min_value=-TIMESTAMP_SKEW, max_value=TIMESTAMP_SKEW)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, object]:
    """A request as the client builds it: URI from the query builder, fresh timestamp and nonce."""
    userid = draw(userids)
    if draw(st.booleans()):
        uri = build_uri(
            "/v1/meetings/live_play/replays",
            [("meeting_code", draw(codes)), ("userid", userid), ("instanceid", 1)],
        )
    else:
        uri = build_uri(
            f"/v1/meetings/{draw(meeting_ids)}/live_play/replays",
            [("userid", userid), ("instanceid", 1)],
        )
    return {
        "method": "GET",
        "uri": uri,
        "body": "",
        "timestamp": NOW + draw(skews),
        "nonce": draw(nonces),
    }


def _verify(request: dict[str, object], headers: dict[str, str]) -> Rejection | None:
    return verify_request(
        headers,
        method=str(request["method"]),
        uri=str(request["uri"]),
        body=str(request["body"]),
        credentials=CREDENTIALS,
        now=NOW,
    )


def _headers(request: dict[str, object], credentials: Credentials = CREDENTIALS) -> dict[str, str]:
    return signed_headers(credentials, **request)  # type: ignore[arg-type]


@settings(deadline=None)
@given(requests())
def test_fake_accepts_every_request_the_client_signs(request: dict[str, object]) -> None:
    assert _verify(request, _headers(request)) is None


def _tampered_uri(uri: str, part: str) -> str:
    path, _, query = uri.partition("?")
    if part == "path":
        return path.replace("/live_play/", "/live_play2/") + "?" + query
    return path + "?" + query.replace("instanceid=1", "instanceid=2")


@settings(deadline=None)
@given(
    requests(),
    st.sampled_from(["method", "path", "query", "body", "order"]),
)
def test_fake_rejects_a_request_whose_signed_part_changed(
    request: dict[str, object], part: str
) -> None:
    headers = _headers(request)
    changed = dict(request)
    uri = str(request["uri"])
    if part == "method":
        changed["method"] = "POST"
    elif part == "body":
        changed["body"] = "{}"
    elif part == "order":
        # Same parameters, other order: what a re-ordering HTTP client would send.
        path, _, query = uri.partition("?")
        changed["uri"] = path + "?" + "&".join(reversed(query.split("&")))
    else:
        changed["uri"] = _tampered_uri(uri, part)
    rejection = _verify(changed, headers)
    assert rejection is not None
    assert rejection.error_code == BAD_SIGNATURE


@settings(deadline=None)
@given(requests(), st.integers(min_value=1, max_value=2**31 - 1))
def test_fake_rejects_a_changed_nonce(request: dict[str, object], other: int) -> None:
    headers = _headers(request)
    if str(other) == headers["X-TC-Nonce"]:
        other += 1
    headers["X-TC-Nonce"] = str(other)
    rejection = _verify(request, headers)
    assert rejection is not None and rejection.error_code == BAD_SIGNATURE


@settings(deadline=None)
@given(requests(), st.integers(min_value=1, max_value=2 * TIMESTAMP_SKEW))
def test_fake_rejects_a_changed_timestamp(request: dict[str, object], shift: int) -> None:
    headers = _headers(request)
    changed = int(headers["X-TC-Timestamp"]) + shift
    headers["X-TC-Timestamp"] = str(changed)
    rejection = _verify(request, headers)
    assert rejection is not None
    # Within the allowed skew the signature no longer matches; beyond it the clock check fires.
    expected = BAD_SIGNATURE if abs(changed - NOW) <= TIMESTAMP_SKEW else CLOCK_SKEW
    assert rejection.error_code == expected


@settings(deadline=None)
@given(requests(), st.text(alphabet=SAFE_ALPHABET, min_size=1, max_size=40))
def test_fake_rejects_a_signature_made_with_another_secret_key(
    request: dict[str, object], other_key: str
) -> None:
    if other_key == CREDENTIALS.secret_key:
        other_key += "x"
    headers = _headers(request, dataclasses.replace(CREDENTIALS, secret_key=other_key))
    rejection = _verify(request, headers)
    assert rejection is not None and rejection.error_code == BAD_SIGNATURE


@settings(deadline=None)
@given(requests(), st.sampled_from(["X-TC-Key", "AppId", "SdkId"]))
def test_fake_rejects_another_identity(request: dict[str, object], header: str) -> None:
    headers = _headers(request)
    headers[header] = headers.get(header, "") + "1"
    rejection = _verify(request, headers)
    assert rejection is not None and rejection.error_code == BAD_IDENTITY


@settings(deadline=None)
@given(requests(), st.integers(min_value=TIMESTAMP_SKEW + 1, max_value=10**6))
def test_fake_rejects_clock_skew_beyond_five_minutes(request: dict[str, object], skew: int) -> None:
    for timestamp in (NOW - skew, NOW + skew):
        skewed = {**request, "timestamp": timestamp}
        rejection = _verify(skewed, _headers(skewed))
        assert rejection is not None and rejection.error_code == CLOCK_SKEW


@pytest.mark.parametrize(
    "missing", ["X-TC-Key", "X-TC-Timestamp", "X-TC-Nonce", "X-TC-Signature", "AppId"]
)
def test_fake_rejects_a_missing_header(missing: str) -> None:
    request = {"method": "GET", "uri": "/v1/users/list", "body": "", "timestamp": NOW, "nonce": 7}
    headers = _headers(request)
    del headers[missing]
    assert _verify(request, headers) is not None


def test_fake_header_names_are_case_sensitive() -> None:
    request = {"method": "GET", "uri": "/v1/users/list", "body": "", "timestamp": NOW, "nonce": 7}
    headers = {name.lower(): value for name, value in _headers(request).items()}
    assert _verify(request, headers) is not None
