"""The QR text of a card: ``HTTPS://HOST/C/<decimal digits of the COSE bytes>``.

The prefix goes in a QR alphanumeric segment and the digits in a numeric segment. The
digits are the COSE bytes read as one big-endian unsigned integer, written in decimal:
numeric mode packs 3 digits in 10 bits, so this costs 8.03 bits per byte, against 8.8
for base32 in alphanumeric mode (docs/card-format.md has the measured QR versions). A
COSE_Sign1 always starts with the tag byte 0xD2, so no leading zero byte can be lost.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from app.cards.errors import MalformedCredential
from app.core.errors import Invalid
from card_printing.qr import QrSegment

PATH = "/C/"
MAX_QR_TEXT_BYTES = 10 * 1024
# Far above a card (~240 digits) yet small enough that decimal conversion stays cheap.
MAX_PAYLOAD_DIGITS = 400
_HOST = r"[A-Z0-9](?:[A-Z0-9.-]{0,251}[A-Z0-9])?"
# Scheme and host are case-insensitive (RFC 3986 §3.1, §3.2.2) and phone cameras lower-case
# them; the "C" is accepted in either case too, because the signed part is digits only.
_QR_TEXT = re.compile(rf"HTTPS?://{_HOST}(?::[0-9]{{1,5}})?/C/([0-9]*)", re.IGNORECASE | re.ASCII)
_BASE_URL = re.compile(rf"HTTPS?://{_HOST}(?::[0-9]{{1,5}})?", re.ASCII)


def qr_prefix(*, base_url: str) -> str:
    """The upper-case alphanumeric-mode prefix for a public origin like ``https://host``."""
    parts = urlsplit(base_url.strip())
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise Invalid("公開URLにはスキームとホスト名（とポート）だけを指定してください", field="public_url")
    origin = f"{parts.scheme}://{parts.netloc}".upper()
    if not _BASE_URL.fullmatch(origin):
        raise Invalid("公開URLをQRコードの英数字モードで表せません", field="public_url")
    return origin + PATH


def qr_segments(cose: bytes, *, base_url: str) -> list[QrSegment]:
    """The two QR segments (alphanumeric prefix, numeric payload) a printer should encode."""
    if not cose or cose[0] == 0:
        raise ValueError("a COSE_Sign1 starts with its tag byte, never 0x00")
    return [
        QrSegment(text=qr_prefix(base_url=base_url), mode="alphanumeric"),
        QrSegment(text=str(int.from_bytes(cose, "big")), mode="numeric"),
    ]


def segments_text(segments: list[QrSegment]) -> str:
    """The text a scanner reads from a QR made of ``segments``."""
    return "".join(segment.text for segment in segments)


def cose_from_qr(text: object) -> bytes:
    """Extract the COSE bytes from scanned QR text, raising MalformedCredential on anything else."""
    if not isinstance(text, str):
        raise MalformedCredential("not_text")
    if len(text) > MAX_QR_TEXT_BYTES:
        raise MalformedCredential("too_large")
    if not text.isascii():
        raise MalformedCredential("not_ascii")
    if "?" in text or "#" in text:
        raise MalformedCredential("query")
    match = _QR_TEXT.fullmatch(text)
    if match is None:
        raise MalformedCredential("prefix")
    digits = match.group(1)
    if not digits or len(digits) > MAX_PAYLOAD_DIGITS:
        raise MalformedCredential("payload_length")
    if digits[0] == "0":
        raise MalformedCredential("payload_leading_zero")
    number = int(digits)
    return number.to_bytes((number.bit_length() + 7) // 8, "big")
