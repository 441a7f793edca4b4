"""The signed revocation list (``/.well-known/lifeline/revocations.json``).

A JWS in flattened JSON serialization (RFC 7515 §7.2.2), ES256, signed by the active card
key. JWS rather than COSE because the browser then needs no CBOR for it: the signing input
is ASCII ``protected.payload`` and WebCrypto verifies the raw r‖s signature as is (after
the same low-s check as for cards: ``es256_verify`` refuses s > n/2). Offline devices keep the
highest ``version`` they have verified.

An entry revokes every serial of a card id up to and including ``serial``; reissue always
raises the serial, so one entry per card id is enough. Reasons are deliberately coarse
("superseded" or "cancelled"): the list is public, and a finer reason (death, moving away)
would tell anyone holding a card id more than they need.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.cards.cose import Signer, es256_verify, is_uint
from app.cards.credential import CARD_ID_LENGTH, MAX_SERIAL
from app.cards.errors import InvalidRevocationDocument
from app.cards.keyset import KeySet, b64url_decode, b64url_encode
from app.cards.keystore import KeyStore

JWS_TYPE = "lifeline-revocations+json"
REASONS = ("superseded", "cancelled")
_HEADER_MEMBERS = {"alg", "kid", "typ"}
_PAYLOAD_MEMBERS = {"version", "issued_at", "entries"}
_ENTRY_REQUIRED = {"card_id", "serial", "reason"}


@dataclass(frozen=True)
class RevocationEntry:
    card_id: bytes
    serial: int
    reason: str
    superseded_by_serial: int | None = None

    def __post_init__(self) -> None:
        if len(self.card_id) != CARD_ID_LENGTH or not _is_serial(self.serial) or self.reason not in REASONS:
            raise ValueError("invalid revocation entry")
        newer = self.superseded_by_serial
        if (self.reason == "superseded") != (newer is not None):
            raise ValueError("superseded_by_serial must be given exactly for reason 'superseded'")
        if newer is not None and not (_is_serial(newer) and newer > self.serial):
            raise ValueError("superseded_by_serial must be a later serial")

    def as_json(self) -> dict:
        doc: dict[str, object] = {"card_id": self.card_id.hex(), "serial": self.serial, "reason": self.reason}
        if self.superseded_by_serial is not None:
            doc["superseded_by_serial"] = self.superseded_by_serial
        return doc


@dataclass(frozen=True)
class RevocationList:
    version: int
    issued_at: int
    kid: bytes
    entries: Mapping[bytes, RevocationEntry]

    def entry_for(self, *, card_id: bytes, serial: int) -> RevocationEntry | None:
        """The entry revoking this card and serial, if any."""
        entry = self.entries.get(card_id)
        return entry if entry is not None and serial <= entry.serial else None


def sign_revocation_document(
    *, entries: Iterable[RevocationEntry], version: int, issued_at: int, signer: Signer
) -> dict:
    """Sign a revocation list as a flattened JWS with the given signer."""
    if not is_uint(version) or not is_uint(issued_at):
        raise ValueError("version and issued_at must be non-negative integers")
    ordered = sorted(entries, key=lambda entry: entry.card_id)
    if len({entry.card_id for entry in ordered}) != len(ordered):
        raise ValueError("one entry per card id")
    header = {"alg": "ES256", "kid": b64url_encode(signer.kid), "typ": JWS_TYPE}
    payload = {"version": version, "issued_at": issued_at, "entries": [entry.as_json() for entry in ordered]}
    protected_b64, payload_b64 = (b64url_encode(_compact_json(part)) for part in (header, payload))
    signature = signer.sign(f"{protected_b64}.{payload_b64}".encode("ascii"))
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64url_encode(signature)}


def build_revocation_document(
    *, entries: Iterable[RevocationEntry], version: int, keystore: KeyStore, issued_at: int | None = None
) -> dict:
    """Sign a revocation list with the key store's active key."""
    return sign_revocation_document(
        entries=entries,
        version=version,
        issued_at=int(time.time()) if issued_at is None else issued_at,
        signer=keystore.signing_key(),
    )


def verify_revocation_document(doc: object, keys: KeySet) -> RevocationList:
    """Check signature and contents, raising InvalidRevocationDocument; only an active key may sign."""
    if not isinstance(doc, Mapping) or set(doc) != {"protected", "payload", "signature"}:
        raise InvalidRevocationDocument("structure")
    protected_b64, payload_b64, signature_b64 = doc["protected"], doc["payload"], doc["signature"]
    try:
        header = _json_object(protected_b64)
        signature = b64url_decode(signature_b64)
        kid = b64url_decode(header.get("kid"))
    except (ValueError, RecursionError) as exc:
        raise InvalidRevocationDocument("encoding") from exc
    if set(header) != _HEADER_MEMBERS or header["alg"] != "ES256" or header["typ"] != JWS_TYPE:
        raise InvalidRevocationDocument("header")
    # The list can only lower trust, but a stale signer could still publish an empty list with
    # a huge version and freeze every device's cache; so retired keys may not sign it.
    signers = [key for key in keys.with_kid(kid) if key.active]
    if not signers:
        raise InvalidRevocationDocument("unknown_signer")
    signing_input = f"{protected_b64}.{payload_b64}".encode("ascii")
    if not any(es256_verify(key.public_key, signature, signing_input) for key in signers):
        raise InvalidRevocationDocument("signature")
    try:
        return _parse_payload(_json_object(payload_b64), kid=kid)
    except (ValueError, RecursionError) as exc:
        raise InvalidRevocationDocument("payload") from exc


def _parse_payload(payload: dict, *, kid: bytes) -> RevocationList:
    if set(payload) != _PAYLOAD_MEMBERS or not is_uint(payload["version"]) or not is_uint(payload["issued_at"]):
        raise ValueError("payload members")
    if not isinstance(payload["entries"], list):
        raise ValueError("entries must be a list")
    entries: dict[bytes, RevocationEntry] = {}
    for item in payload["entries"]:
        entry = _parse_entry(item)
        if entry.card_id in entries:
            raise ValueError("duplicate card id")
        entries[entry.card_id] = entry
    return RevocationList(version=payload["version"], issued_at=payload["issued_at"], kid=kid, entries=entries)


def _parse_entry(item: object) -> RevocationEntry:
    if not isinstance(item, dict) or not _ENTRY_REQUIRED <= set(item) <= _ENTRY_REQUIRED | {"superseded_by_serial"}:
        raise ValueError("entry members")
    card_id = item["card_id"]
    # Lower-case hex only, so one card id has one spelling in the signed list.
    if not isinstance(card_id, str) or len(card_id) != 2 * CARD_ID_LENGTH or card_id.strip("0123456789abcdef"):
        raise ValueError("card_id must be 16 lower-case hex digits")
    return RevocationEntry(
        card_id=bytes.fromhex(card_id),
        serial=item["serial"],
        reason=item["reason"],
        superseded_by_serial=item.get("superseded_by_serial"),
    )


def _is_serial(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_SERIAL


def _compact_json(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _json_object(segment: object) -> dict:
    # Decoded as UTF-8 explicitly: json.loads(bytes) would also guess UTF-16/32.
    value = json.loads(b64url_decode(segment).decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value
