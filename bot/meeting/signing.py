"""Tencent Meeting AK/SK request signing, and the exact request URI that gets signed.

Pure functions only. Tencent recomputes the signature over the path and query *as received*, so the
query is built here, from a restricted alphabet, and the client sends this very string unmodified.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# Characters that are the same encoded or not: a value within them can never be re-encoded by an
# HTTP client or a proxy, so the bytes signed are the bytes Tencent sees.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9._~-]+")

QueryValue = str | int


@dataclass(frozen=True)
class Credentials:
    """An enterprise self-built app's identity; `repr` leaves the secret key out."""

    app_id: str
    secret_id: str
    secret_key: str = field(repr=False)
    sdk_id: str | None = None


def sign(
    *,
    secret_id: str,
    secret_key: str,
    method: str,
    uri: str,
    body: str,
    timestamp: int | str,
    nonce: int | str,
) -> str:
    """X-TC-Signature: base64 of the lowercase hex HMAC-SHA256 of Tencent's string to sign."""
    string_to_sign = (
        f"{method}\n"
        f"X-TC-Key={secret_id}&X-TC-Nonce={nonce}&X-TC-Timestamp={timestamp}\n"
        f"{uri}\n"
        f"{body}"
    )
    digest = hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    # Tencent encodes the hex text, not the raw digest: 88 characters ending in "==".
    return base64.b64encode(digest.encode()).decode()


def signed_headers(
    credentials: Credentials,
    *,
    method: str,
    uri: str,
    body: str,
    timestamp: int | str,
    nonce: int | str,
) -> dict[str, str]:
    """Every header of a Tencent Meeting request, signed for this method, URI and body."""
    headers = {
        "X-TC-Key": credentials.secret_id,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Nonce": str(nonce),
        "X-TC-Signature": sign(
            secret_id=credentials.secret_id,
            secret_key=credentials.secret_key,
            method=method,
            uri=uri,
            body=body,
            timestamp=timestamp,
            nonce=nonce,
        ),
        "AppId": credentials.app_id,
        "X-TC-Registered": "1",
        "Content-Type": "application/json",
    }
    # An empty or unassigned SdkId is rejected (190303), so it is only sent when one exists.
    if credentials.sdk_id:
        headers["SdkId"] = credentials.sdk_id
    return headers


def safe_token(value: QueryValue, *, what: str = "value") -> str:
    """Return `value` as text if it needs no percent-encoding anywhere in a URL; else ValueError."""
    text = str(value)
    if not _SAFE_VALUE.fullmatch(text):
        # The value itself is not echoed: it may be whatever a user typed.
        raise ValueError(f"{what} must be non-empty and use only A-Z a-z 0-9 . _ ~ -")
    return text


def build_query(params: Iterable[tuple[str, QueryValue]]) -> str:
    """The query string exactly as it will be sent and signed, in the order given (no leading ?)."""
    return "&".join(
        f"{safe_token(key, what='query name')}={safe_token(value, what=key)}"
        for key, value in params
    )


def build_uri(path: str, params: Iterable[tuple[str, QueryValue]] = ()) -> str:
    """Path plus `?query` (when there is one): the URI part of the string to sign."""
    query = build_query(params)
    return f"{path}?{query}" if query else path
