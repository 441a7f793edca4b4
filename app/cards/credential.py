"""The card credential: CWT claims signed as a COSE_Sign1, printed as QR text, verified offline.

The QR holds no personal or medical data, only a signed pointer (random card id + serial)
to the record on the server. ``verify`` never raises: every input gets a status, so a
scan can always show the crew something definite.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import cbor2

from app.cards.cose import (
    Signer,
    decode_canonical,
    decode_sign1,
    encode_sign1,
    es256_verify,
    is_uint,
    require_canonical,
)
from app.cards.errors import MalformedCredential
from app.cards.keyset import KeySet, b64url_encode
from app.cards.qr import cose_from_qr, qr_segments, segments_text
from card_printing.qr import QrSegment

if TYPE_CHECKING:
    from app.cards.revocation import RevocationEntry


class RevocationLookup(Protocol):
    """What ``verify`` asks of revocations: a signed RevocationList (offline) or the server's per-card lookup."""

    def entry_for(self, *, card_id: bytes, serial: int) -> RevocationEntry | None: ...


# Registered CWT claim keys (RFC 8392 §4); no private claims, so nothing to register.
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_CTI = 7
CARD_ID_LENGTH = 8
# cti = card id ‖ serial (uint16, big-endian): the card id repeats across reissues, the pair
# is unique per credential, which is what cti means; and it costs 4 bytes less than a
# private-use claim key for the serial (see docs/card-format.md).
SERIAL_LENGTH = 2
MAX_SERIAL = 2 ** (8 * SERIAL_LENGTH) - 1


class Status(StrEnum):
    GENUINE = "genuine"
    REVOKED = "revoked"
    FORGED = "forged"
    EXPIRED = "expired"
    UNKNOWN_KEY = "unknown_key"
    MALFORMED = "malformed"


# What the crew reads on the scan screen; the server returns these with the status.
CREW_MESSAGES_JA: dict[str, str] = {
    "genuine": "本物のカードです",
    "revoked": "このカードは失効しています",
    "revoked_newer": "このカードは失効しています（新しいカードがあります）",
    "forged": "偽造の疑い：署名が一致しません",
    "expired": "有効期限切れのカードです",
    "unknown_key": "発行元の鍵を確認できません（鍵リストを更新してください）",
    "malformed": "このカードのQRコードとして読み取れません",
}


@dataclass(frozen=True)
class CardClaims:
    card_id: bytes
    serial: int
    issued_at: int
    expires_at: int | None = None

    def __post_init__(self) -> None:
        if len(self.card_id) != CARD_ID_LENGTH:
            raise ValueError(f"card id must be {CARD_ID_LENGTH} bytes")
        if type(self.serial) is not int or not 0 <= self.serial <= MAX_SERIAL:
            raise ValueError(f"serial must be 0..{MAX_SERIAL}")
        if not _valid_times(self.issued_at, self.expires_at):
            raise ValueError("issued_at and expires_at must be seconds, expiry after issue")


@dataclass(frozen=True)
class IssuedCard:
    cose: bytes
    segments: list[QrSegment]

    @property
    def text(self) -> str:
        return segments_text(self.segments)


@dataclass(frozen=True)
class VerificationResult:
    status: Status
    reason: str | None = None
    kid: bytes | None = None
    claims: CardClaims | None = None
    newer_card_exists: bool = False

    @property
    def message_ja(self) -> str:
        key = "revoked_newer" if self.newer_card_exists else self.status.value
        return CREW_MESSAGES_JA[key]

    def as_dict(self) -> dict:
        """The JSON shape shared with the browser verifier (``ems_pwa/js/credential.js``)."""
        claims = self.claims
        return {
            "status": self.status.value,
            "cardId": claims.card_id.hex() if claims else None,
            "serial": claims.serial if claims else None,
            "issuedAt": claims.issued_at if claims else None,
            "expiresAt": claims.expires_at if claims else None,
            "kid": b64url_encode(self.kid) if self.kid is not None else None,
            "newerCardExists": self.newer_card_exists,
            "reason": self.reason,
            "message": self.message_ja,
        }


def _valid_times(issued_at: object, expires_at: object) -> bool:
    if not is_uint(issued_at):
        return False
    return expires_at is None or (is_uint(expires_at) and expires_at > issued_at)


def new_card_id() -> bytes:
    """A fresh random card id (64 bits, carries no personal data)."""
    return secrets.token_bytes(CARD_ID_LENGTH)


def encode_claims(claims: CardClaims) -> bytes:
    """The deterministic CBOR claims map of a card."""
    cwt: dict[int, object] = {
        CLAIM_IAT: claims.issued_at,
        CLAIM_CTI: claims.card_id + claims.serial.to_bytes(SERIAL_LENGTH, "big"),
    }
    if claims.expires_at is not None:
        cwt[CLAIM_EXP] = claims.expires_at
    return cbor2.dumps(cwt, canonical=True)


def decode_claims(payload: bytes) -> CardClaims:
    """Parse the claims map strictly, raising MalformedCredential."""
    cwt = decode_canonical(payload)
    if not isinstance(cwt, Mapping) or not all(type(key) is int for key in cwt):
        raise MalformedCredential("claims")
    if not {CLAIM_IAT, CLAIM_CTI} <= set(cwt) <= {CLAIM_EXP, CLAIM_IAT, CLAIM_CTI}:
        raise MalformedCredential("claims")
    cti, issued_at, expires_at = cwt[CLAIM_CTI], cwt[CLAIM_IAT], cwt.get(CLAIM_EXP)
    if not isinstance(cti, bytes) or len(cti) != CARD_ID_LENGTH + SERIAL_LENGTH:
        raise MalformedCredential("cti")
    if not _valid_times(issued_at, expires_at):
        raise MalformedCredential("time")
    require_canonical(dict(cwt), payload)
    return CardClaims(
        card_id=cti[:CARD_ID_LENGTH],
        serial=int.from_bytes(cti[CARD_ID_LENGTH:], "big"),
        issued_at=issued_at,
        expires_at=expires_at,
    )


def issue_credential(*, claims: CardClaims, signer: Signer, base_url: str) -> IssuedCard:
    """Sign the claims and lay them out as the QR segments a card is printed with."""
    cose = encode_sign1(payload=encode_claims(claims), signer=signer)
    return IssuedCard(cose=cose, segments=qr_segments(cose, base_url=base_url))


def verify(qr_text: object, *, keys: KeySet, revocations: RevocationLookup | None, now: int) -> VerificationResult:
    """Verify scanned QR text offline; never raises, every input yields a status."""
    try:
        sign1 = decode_sign1(cose_from_qr(qr_text))
        claims = decode_claims(sign1.payload)
    except MalformedCredential as exc:
        return VerificationResult(status=Status.MALFORMED, reason=exc.reason)
    candidates = keys.with_kid(sign1.kid)
    if not candidates:
        return VerificationResult(status=Status.UNKNOWN_KEY, reason="kid", kid=sign1.kid)
    message = sign1.signed_bytes
    # Several trusted keys may share a kid; the card is genuine if any of them signed it. A high-s
    # signature (the n − s twin of a genuine one) verifies with no key: it is forged.
    key = next((k for k in candidates if es256_verify(k.public_key, sign1.signature, message)), None)
    if key is None:
        return VerificationResult(status=Status.FORGED, reason="signature", kid=sign1.kid)
    entry = revocations.entry_for(card_id=claims.card_id, serial=claims.serial) if revocations is not None else None
    if entry is not None:
        newer = entry.superseded_by_serial is not None
        return VerificationResult(
            status=Status.REVOKED, reason=entry.reason, kid=sign1.kid, claims=claims, newer_card_exists=newer
        )
    if not key.usable_at(now):
        return VerificationResult(status=Status.EXPIRED, reason="key_expired", kid=sign1.kid, claims=claims)
    if claims.expires_at is not None and now >= claims.expires_at:
        return VerificationResult(status=Status.EXPIRED, reason="card_expired", kid=sign1.kid, claims=claims)
    return VerificationResult(status=Status.GENUINE, kid=sign1.kid, claims=claims)
