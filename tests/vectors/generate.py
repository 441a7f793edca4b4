"""Write the card-credential and revocation-list test vectors (deterministic).

    .venv/bin/python tests/vectors/generate.py [OUT_DIR]     # default: this directory

Keys are derived from fixed seeds and signatures are deterministic (RFC 6979), so the output
is byte-for-byte stable; tests/cards/test_vectors.py regenerates and compares. The private
test keys are written into the vector files on purpose, so other implementations can build
their own vectors: they are TEST KEYS ONLY and must never be trusted by a deployment.

Every vector's "expected" is written down here from how the vector was built, not computed
by a verifier, so the vectors check the verifiers rather than mirror them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from app.cards.cose import P256_HALF_ORDER, es256_sign, sig_structure
from app.cards.credential import CardClaims, encode_claims
from app.cards.keyset import VerificationKey, b64url_decode, b64url_encode, public_jwk
from app.cards.keystore import derive_kid
from app.cards.qr import qr_prefix
from app.cards.revocation import RevocationEntry, sign_revocation_document

BASE_URL = "https://lifeline.city.kazo.saitama.jp"
PREFIX = qr_prefix(base_url=BASE_URL)
HOST = "LIFELINE.CITY.KAZO.SAITAMA.JP"
NOW = 1767571200  # 2026-01-05T00:00:00Z
ISSUED = 1767225600  # 2026-01-01T00:00:00Z
ISSUED_2025 = 1743465600  # 2025-04-01T00:00:00Z
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class FixedKey:
    name: str
    private_key: ec.EllipticCurvePrivateKey
    kid: bytes

    def sign(self, message: bytes) -> bytes:
        return es256_sign(self.private_key, message, deterministic=True)


def _derived_key(seed: str) -> ec.EllipticCurvePrivateKey:
    scalar = (
        int.from_bytes(hashlib.sha256(f"tone-lifeline test key: {seed}".encode()).digest(), "big") % (_P256_ORDER - 1)
        + 1
    )
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _key(name: str, kid: bytes | None = None) -> FixedKey:
    private_key = _derived_key(name)
    return FixedKey(name=name, private_key=private_key, kid=kid or derive_kid(private_key.public_key()))


ACTIVE = _key("issuer-2026")
PREVIOUS = _key("issuer-2025")
RETIRED = _key("issuer-2024-retired")
# Labelled with the active kid but one byte different: a trusted key a one-byte change of
# the protected header can point at (kids are opaque labels to a verifier).
NEIGHBOUR = _key("neighbour", kid=ACTIVE.kid[:-1] + bytes([ACTIVE.kid[-1] ^ 0x01]))
FORGER = _key("forger", kid=ACTIVE.kid)
OUTSIDER = _key("outsider")
RETIRED_NOT_AFTER = 1767225600  # 2026-01-01: cards of the retired key stop verifying
TRUSTED = [
    (RETIRED, 1704067200, RETIRED_NOT_AFTER),
    (PREVIOUS, 1735689600, None),
    (NEIGHBOUR, 1735689600, None),
    (ACTIVE, 1764547200, None),
]


def card_id(label: str) -> bytes:
    return hashlib.sha256(f"card: {label}".encode()).digest()[:8]


def jwks() -> dict:
    keys = [
        public_jwk(
            VerificationKey(
                kid=key.kid,
                public_key=key.private_key.public_key(),
                created_at=created,
                not_after=not_after,
                active=key is ACTIVE,
            )
        )
        for key, created, not_after in TRUSTED
    ]
    return {"keys": keys}


def private_jwk(key: FixedKey) -> dict:
    numbers = key.private_key.private_numbers()
    return {
        "note": "TEST KEY ONLY",
        "name": key.name,
        "kid": b64url_encode(key.kid),
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.public_numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.public_numbers.y.to_bytes(32, "big")),
        "d": b64url_encode(numbers.private_value.to_bytes(32, "big")),
    }


# --- COSE assembly by hand, so that non-canonical variants can be signed too ---------------


def bstr(data: bytes) -> bytes:
    return cbor2.dumps(data)


def protected_header(kid: bytes) -> bytes:
    return cbor2.dumps({1: -7, 4: kid}, canonical=True)


def sign1(
    key: FixedKey, *, payload: bytes, protected: bytes | None = None, unprotected: bytes = b"\xa0", tag: bytes = b"\xd2"
) -> bytes:
    protected = protected_header(key.kid) if protected is None else protected
    signature = key.sign(sig_structure(protected=protected, payload=payload))
    return tag + b"\x84" + bstr(protected) + unprotected + bstr(payload) + bstr(signature)


def digits(cose: bytes) -> str:
    return str(int.from_bytes(cose, "big"))


def qr(cose: bytes, prefix: str = PREFIX) -> str:
    return prefix + digits(cose)


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def with_rs(signed: bytes, r: int | None = None, s: int | None = None) -> bytes:
    """``signed`` (a COSE_Sign1 or a bare signature: r ‖ s are its last 64 bytes) with r or s replaced."""
    head, old_r, old_s = signed[:-64], signed[-64:-32], signed[-32:]
    r_bytes = old_r if r is None else r.to_bytes(32, "big")
    s_bytes = old_s if s is None else s.to_bytes(32, "big")
    return head + r_bytes + s_bytes


def high_s_twin(signed: bytes) -> bytes:
    """The other encoding of the same ECDSA signature, (r, n − s): it verifies mathematically,
    and verifiers must refuse it (docs/card-format.md §1, "one valid encoding")."""
    s = int.from_bytes(signed[-32:], "big")
    assert 1 <= s <= P256_HALF_ORDER, "the issuer signs low-s; its twin is the high-s one"
    return with_rs(signed, s=_P256_ORDER - s)


def shown(claims: CardClaims, key: FixedKey, status: str, newer: bool = False) -> dict:
    """Expected result when the signature verified: the claims are shown."""
    return {
        "status": status,
        "cardId": claims.card_id.hex(),
        "serial": claims.serial,
        "issuedAt": claims.issued_at,
        "expiresAt": claims.expires_at,
        "kid": b64url_encode(key.kid),
        "newerCardExists": newer,
    }


def hidden(status: str, kid: bytes | None = None) -> dict:
    """Expected result when nothing was verified: no claims are shown."""
    fields = dict(cardId=None, serial=None, issuedAt=None, expiresAt=None)
    return {"status": status, **fields, "kid": None if kid is None else b64url_encode(kid), "newerCardExists": False}


def vector(description: str, qr_text: object, expected: dict, now: int = NOW) -> dict:
    return {"description": description, "qr": qr_text, "now": now, "expected": expected}


def revocation_entries() -> list[RevocationEntry]:
    return [
        RevocationEntry(card_id=card_id("lost wallet"), serial=1, reason="superseded", superseded_by_serial=2),
        RevocationEntry(card_id=card_id("consent withdrawn"), serial=3, reason="cancelled"),
        RevocationEntry(card_id=card_id("reissued twice"), serial=2, reason="superseded", superseded_by_serial=3),
    ]


def revocation_document() -> dict:
    return sign_revocation_document(entries=revocation_entries(), version=42, issued_at=NOW - 86400, signer=ACTIVE)


def credential_vectors() -> list[dict]:
    valid = CardClaims(card_id=card_id("valid"), serial=1, issued_at=ISSUED)
    valid_cose = sign1(ACTIVE, payload=encode_claims(valid))
    valid_qr = qr(valid_cose)
    payload = encode_claims(valid)
    # Byte offsets inside valid_cose: d2 84 49 <protected: a2 01 26 04 44 kid> a0 53 <payload> 58 40 <signature>
    protected_start = 3
    alg_byte = protected_start + 2
    kid_last = protected_start + 5 + len(ACTIVE.kid) - 1
    payload_start = valid_cose.index(payload)
    iat_last = payload_start + 6  # a2 06 1a then the 4 bytes of iat
    card_id_byte = payload_start + 9  # ... 07 4a then card id ‖ serial
    serial_last = card_id_byte + 9
    assert valid_cose[:3] == b"\xd2\x84\x49" and payload[:3] == b"\xa2\x06\x1a" and payload[7:9] == b"\x07\x4a"
    signature_start = len(valid_cose) - 64
    previous = CardClaims(card_id=card_id("issued under the 2025 key"), serial=1, issued_at=ISSUED_2025)
    expiring = CardClaims(card_id=card_id("expiring"), serial=1, issued_at=ISSUED, expires_at=NOW + 3600)
    retired = CardClaims(card_id=card_id("issued under the retired key"), serial=1, issued_at=1709251200)
    lost = CardClaims(card_id=card_id("lost wallet"), serial=1, issued_at=ISSUED_2025)
    replacement = CardClaims(card_id=card_id("lost wallet"), serial=2, issued_at=ISSUED)
    withdrawn = CardClaims(card_id=card_id("consent withdrawn"), serial=3, issued_at=ISSUED_2025)
    after_cancel = CardClaims(card_id=card_id("consent withdrawn"), serial=4, issued_at=ISSUED)
    twice = CardClaims(card_id=card_id("reissued twice"), serial=1, issued_at=ISSUED_2025)
    lower = valid_qr.lower()
    iat8 = b"\xa2\x06\x1b" + ISSUED.to_bytes(8, "big") + b"\x07\x4a" + valid.card_id + b"\x00\x01"
    unsorted_protected = b"\xa2\x04\x44" + ACTIVE.kid + b"\x01\x26"
    cwt_with_iss = cbor2.dumps({1: "KAZO", 6: ISSUED, 7: valid.card_id + b"\x00\x01"}, canonical=True)
    exp_before_iat = cbor2.dumps({4: ISSUED - 1, 6: ISSUED, 7: valid.card_id + b"\x00\x01"}, canonical=True)
    short_cti = cbor2.dumps({6: ISSUED, 7: valid.card_id}, canonical=True)
    junk = "".join(chr(c) for c in (0, 1, 2, 0x7F, 0x80, 0xFF, 0xD2, 0x84, 0x10, 0x1B))
    body = valid_cose[1:]
    return [
        vector("valid card, signed by the active key", valid_qr, shown(valid, ACTIVE, "genuine")),
        vector(
            "valid card signed by the previous key (still published after rotation)",
            qr(sign1(PREVIOUS, payload=encode_claims(previous))),
            shown(previous, PREVIOUS, "genuine"),
        ),
        vector(
            "card with an expiry, scanned before it",
            qr(sign1(ACTIVE, payload=encode_claims(expiring))),
            shown(expiring, ACTIVE, "genuine"),
        ),
        vector(
            "card with an expiry, scanned after it",
            qr(sign1(ACTIVE, payload=encode_claims(expiring))),
            shown(expiring, ACTIVE, "expired"),
            now=NOW + 3600,
        ),
        vector(
            "card signed by a key whose not_after (exp in the JWKS) has passed",
            qr(sign1(RETIRED, payload=encode_claims(retired))),
            shown(retired, RETIRED, "expired"),
        ),
        vector(
            "the same card before that key's not_after",
            qr(sign1(RETIRED, payload=encode_claims(retired))),
            shown(retired, RETIRED, "genuine"),
            now=RETIRED_NOT_AFTER - 1,
        ),
        vector(
            "other key with the same kid: signed by another key that uses the active key's kid",
            qr(sign1(FORGER, payload=encode_claims(valid))),
            hidden("forged", ACTIVE.kid),
        ),
        vector(
            "protected header: last kid byte changed, no key has that kid",
            qr(flip(valid_cose, kid_last, 0x80)),
            hidden("unknown_key", flip(ACTIVE.kid, len(ACTIVE.kid) - 1, 0x80)),
        ),
        vector(
            "protected header: last kid byte changed to the kid of another trusted key",
            qr(flip(valid_cose, kid_last)),
            hidden("forged", NEIGHBOUR.kid),
        ),
        vector(
            "protected header: alg byte changed from ES256 (-7) to -8",
            qr(flip(valid_cose, alg_byte)),
            hidden("malformed"),
        ),
        vector(
            "payload: one byte of the card id changed", qr(flip(valid_cose, card_id_byte)), hidden("forged", ACTIVE.kid)
        ),
        vector(
            "payload: one byte of the serial changed",
            qr(flip(valid_cose, serial_last, 0x02)),
            hidden("forged", ACTIVE.kid),
        ),
        vector("payload: one byte of issued-at changed", qr(flip(valid_cose, iat_last)), hidden("forged", ACTIVE.kid)),
        vector(
            "signature: first byte of r changed", qr(flip(valid_cose, signature_start)), hidden("forged", ACTIVE.kid)
        ),
        vector(
            "signature: last byte of s changed", qr(flip(valid_cose, len(valid_cose) - 1)), hidden("forged", ACTIVE.kid)
        ),
        vector(
            "signature: high-s twin of the valid card (s replaced by n - s, which ECDSA alone accepts)",
            qr(high_s_twin(valid_cose)),
            hidden("forged", ACTIVE.kid),
        ),
        vector(
            "signature: high-s twin of a card signed by the previous key",
            qr(high_s_twin(sign1(PREVIOUS, payload=encode_claims(previous)))),
            hidden("forged", PREVIOUS.kid),
        ),
        vector(
            "signature: high-s twin of a revoked card (the signature is checked first)",
            qr(high_s_twin(sign1(PREVIOUS, payload=encode_claims(lost)))),
            hidden("forged", PREVIOUS.kid),
        ),
        vector(
            "signature: high-s, s = (n + 1) / 2, the smallest s refused",
            qr(with_rs(valid_cose, s=P256_HALF_ORDER + 1)),
            hidden("forged", ACTIVE.kid),
        ),
        vector("signature: r = 0", qr(with_rs(valid_cose, r=0)), hidden("forged", ACTIVE.kid)),
        vector("signature: s = 0", qr(with_rs(valid_cose, s=0)), hidden("forged", ACTIVE.kid)),
        vector("signature: r = n", qr(with_rs(valid_cose, r=_P256_ORDER)), hidden("forged", ACTIVE.kid)),
        vector("signature: s = n", qr(with_rs(valid_cose, s=_P256_ORDER)), hidden("forged", ACTIVE.kid)),
        vector(
            "signature: r and s all ones (2^256 - 1)",
            qr(with_rs(valid_cose, r=2**256 - 1, s=2**256 - 1)),
            hidden("forged", ACTIVE.kid),
        ),
        vector(
            "revoked: lost card, a newer card exists",
            qr(sign1(PREVIOUS, payload=encode_claims(lost))),
            shown(lost, PREVIOUS, "revoked", newer=True),
        ),
        vector(
            "the replacement card of the lost one (serial 2)",
            qr(sign1(ACTIVE, payload=encode_claims(replacement))),
            shown(replacement, ACTIVE, "genuine"),
        ),
        vector(
            "revoked: an older serial of a card reissued twice",
            qr(sign1(PREVIOUS, payload=encode_claims(twice))),
            shown(twice, PREVIOUS, "revoked", newer=True),
        ),
        vector(
            "revoked: cancelled card, no newer card",
            qr(sign1(PREVIOUS, payload=encode_claims(withdrawn))),
            shown(withdrawn, PREVIOUS, "revoked"),
        ),
        vector(
            "a later serial than the cancelled one is not revoked",
            qr(sign1(ACTIVE, payload=encode_claims(after_cancel))),
            shown(after_cancel, ACTIVE, "genuine"),
        ),
        vector(
            "unknown kid: signed by a key that is not published",
            qr(sign1(OUTSIDER, payload=encode_claims(valid))),
            hidden("unknown_key", OUTSIDER.kid),
        ),
        vector("truncated: last 20 digits missing", valid_qr[:-20], hidden("malformed")),
        vector("truncated: COSE bytes missing their last byte", qr(valid_cose[:-1]), hidden("malformed")),
        vector("truncated: prefix only", PREFIX, hidden("malformed")),
        vector("truncated: half of the prefix", PREFIX[:12], hidden("malformed")),
        vector("wrong prefix: path /X/ instead of /C/", valid_qr.replace("/C/", "/X/"), hidden("malformed")),
        vector("wrong prefix: no /C/ path", valid_qr.replace("/C/", "/"), hidden("malformed")),
        vector("wrong prefix: FTP scheme", valid_qr.replace("HTTPS://", "FTP://"), hidden("malformed")),
        vector(
            "wrong prefix: one slash after the scheme", valid_qr.replace("HTTPS://", "HTTPS:/"), hidden("malformed")
        ),
        vector("wrong prefix: no scheme", valid_qr.replace("HTTPS://", ""), hidden("malformed")),
        vector("wrong prefix: path below /C/", valid_qr.replace("/C/", "/C/X/"), hidden("malformed")),
        vector(
            "lower-case scheme and host (as phone cameras open it)",
            "https://" + HOST.lower() + valid_qr[len("HTTPS://" + HOST) :],
            shown(valid, ACTIVE, "genuine"),
        ),
        vector(
            "whole URL lower-cased, including /c/ (the digits are unchanged)", lower, shown(valid, ACTIVE, "genuine")
        ),
        vector(
            "mixed-case host", valid_qr.replace(HOST, "LifeLine.City.Kazo.Saitama.JP"), shown(valid, ACTIVE, "genuine")
        ),
        vector(
            "http scheme (development servers)",
            valid_qr.replace("HTTPS://", "HTTP://"),
            shown(valid, ACTIVE, "genuine"),
        ),
        vector("host with a port", valid_qr.replace(HOST, HOST + ":8443"), shown(valid, ACTIVE, "genuine")),
        vector(
            "another host: the signature, not the host, makes a card genuine",
            valid_qr.replace(HOST, "EXAMPLE.ORG"),
            shown(valid, ACTIVE, "genuine"),
        ),
        vector("trailing garbage: letters after the digits", valid_qr + "ABC", hidden("malformed")),
        vector(
            "trailing garbage: one extra byte after the COSE structure", qr(valid_cose + b"\x00"), hidden("malformed")
        ),
        vector("trailing garbage: a second COSE structure", qr(valid_cose + valid_cose), hidden("malformed")),
        vector("trailing newline", valid_qr + "\n", hidden("malformed")),
        vector("leading space", " " + valid_qr, hidden("malformed")),
        vector("extra query string", valid_qr + "?x=1", hidden("malformed")),
        vector("extra empty query string", valid_qr + "?", hidden("malformed")),
        vector("fragment", valid_qr + "#top", hidden("malformed")),
        vector("trailing slash", valid_qr + "/", hidden("malformed")),
        vector("empty string", "", hidden("malformed")),
        vector("not a string: null", None, hidden("malformed")),
        vector("not a string: a number", 42, hidden("malformed")),
        vector("binary junk", junk, hidden("malformed")),
        vector(
            "full-width digits", PREFIX + "".join(chr(ord(c) + 0xFEE0) for c in digits(valid_cose)), hidden("malformed")
        ),
        vector("full-width letters in the prefix", valid_qr.replace("HTTPS", "ＨＴＴＰＳ"), hidden("malformed")),
        vector("oversized input (over 10 KiB)", valid_qr + "0" * 10240, hidden("malformed")),
        vector("payload digits with a leading zero", PREFIX + "0" + digits(valid_cose), hidden("malformed")),
        vector("payload too long (401 digits)", PREFIX + "9" * 401, hidden("malformed")),
        vector("random digits", PREFIX + "1234567890" * 24, hidden("malformed")),
        vector(
            "validly signed, but iat encoded in 8 bytes (not deterministic CBOR)",
            qr(sign1(ACTIVE, payload=iat8)),
            hidden("malformed"),
        ),
        vector(
            "validly signed, but protected header keys out of order",
            qr(sign1(ACTIVE, payload=payload, protected=unsorted_protected)),
            hidden("malformed"),
        ),
        vector(
            "validly signed, but untagged COSE_Sign1", qr(sign1(ACTIVE, payload=payload, tag=b"")), hidden("malformed")
        ),
        vector(
            "validly signed, but kid in the unprotected header",
            qr(
                sign1(
                    ACTIVE, payload=payload, protected=cbor2.dumps({1: -7}), unprotected=b"\xa1\x04" + bstr(ACTIVE.kid)
                )
            ),
            hidden("malformed"),
        ),
        vector(
            "validly signed, but alg ES384 (-35) in the header",
            qr(sign1(ACTIVE, payload=payload, protected=cbor2.dumps({1: -35, 4: ACTIVE.kid}, canonical=True))),
            hidden("malformed"),
        ),
        vector(
            "validly signed, but with an extra claim (iss)",
            qr(sign1(ACTIVE, payload=cwt_with_iss)),
            hidden("malformed"),
        ),
        vector(
            "validly signed, but expiry before issue", qr(sign1(ACTIVE, payload=exp_before_iat)), hidden("malformed")
        ),
        vector(
            "validly signed, but cti without serial (8 bytes)",
            qr(sign1(ACTIVE, payload=short_cti)),
            hidden("malformed"),
        ),
        vector(
            "detached payload (nil)",
            qr(valid_cose[: payload_start - 1] + b"\xf6" + valid_cose[signature_start - 2 :]),
            hidden("malformed"),
        ),
        vector(
            "signature of 63 bytes",
            qr(valid_cose[: signature_start - 2] + b"\x58\x3f" + valid_cose[signature_start:-1]),
            hidden("malformed"),
        ),
        vector("indefinite-length array", qr(b"\xd2\x9f" + body[1:] + b"\xff"), hidden("malformed")),
        vector("tag 98 (COSE_Sign) instead of 18", qr(b"\xd8\x62" + body), hidden("malformed")),
        vector("CWT tag 61 around the COSE_Sign1", qr(b"\xd8\x3d" + valid_cose), hidden("malformed")),
    ]


def _tampered(doc: dict, edit) -> dict:
    """The document with its payload edited and re-encoded, keeping the old signature."""
    payload = json.loads(b64url_decode(doc["payload"]))
    edit(payload)
    tampered = {**doc, "payload": b64url_encode(json.dumps(payload, separators=(",", ":")).encode())}
    assert tampered["payload"] != doc["payload"], "the edit must change the payload"
    return tampered


def _signed_payload(payload: dict, key: FixedKey = ACTIVE, header: dict | None = None) -> dict:
    header = header or {"alg": "ES256", "kid": b64url_encode(key.kid), "typ": "lifeline-revocations+json"}
    protected, body = (b64url_encode(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload))
    return {
        "protected": protected,
        "payload": body,
        "signature": b64url_encode(key.sign(f"{protected}.{body}".encode())),
    }


def revocation_vectors() -> list[dict]:
    doc = revocation_document()
    good = json.loads(b64url_decode(doc["payload"]))
    valid = {"status": "valid", "version": 42, "issuedAt": NOW - 86400, "entries": len(good["entries"])}
    invalid = {"status": "invalid"}

    def doc_vector(description: str, document: object, expected: dict) -> dict:
        return {"description": description, "document": document, "expected": expected}

    def set_member(path, value):
        def edit(payload):
            target = payload
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value

        return edit

    bad_reason = {**good, "entries": [{**good["entries"][0], "reason": "deceased"}]}
    duplicate = {**good, "entries": [good["entries"][0], good["entries"][0]]}
    flipped_signature = b64url_decode(doc["signature"])
    flipped_signature = b64url_encode(flip(flipped_signature, 10))
    empty = sign_revocation_document(entries=[], version=1, issued_at=NOW, signer=ACTIVE)

    def resigned(document: dict, signature: bytes) -> dict:
        return {**document, "signature": b64url_encode(signature)}

    signature = b64url_decode(doc["signature"])
    return [
        doc_vector("valid list signed by the active key", doc, valid),
        doc_vector("valid empty list", empty, {"status": "valid", "version": 1, "issuedAt": NOW, "entries": 0}),
        doc_vector("version changed", _tampered(doc, set_member(["version"], 43)), invalid),
        doc_vector("issued_at changed", _tampered(doc, set_member(["issued_at"], NOW)), invalid),
        doc_vector("entry serial changed", _tampered(doc, set_member(["entries", 0, "serial"], 0)), invalid),
        doc_vector("entry card id changed", _tampered(doc, set_member(["entries", 1, "card_id"], "00" * 8)), invalid),
        doc_vector(
            "entry reason changed",
            _tampered(
                doc,
                set_member(
                    ["entries", 0, "reason"],
                    "cancelled" if good["entries"][0]["reason"] == "superseded" else "superseded",
                ),
            ),
            invalid,
        ),
        doc_vector(
            "entry superseded_by_serial changed",
            _tampered(doc, set_member(["entries", 0, "superseded_by_serial"], 9)),
            invalid,
        ),
        doc_vector("entry removed", _tampered(doc, lambda p: p["entries"].pop()), invalid),
        doc_vector(
            "entry added",
            _tampered(doc, lambda p: p["entries"].append({"card_id": "11" * 8, "serial": 1, "reason": "cancelled"})),
            invalid,
        ),
        doc_vector("signature: one byte changed", {**doc, "signature": flipped_signature}, invalid),
        doc_vector("signature truncated", {**doc, "signature": doc["signature"][:-4]}, invalid),
        doc_vector(
            "signature: high-s twin of the valid list (s replaced by n - s, which ECDSA alone accepts)",
            resigned(doc, high_s_twin(signature)),
            invalid,
        ),
        doc_vector(
            "signature: high-s twin of the valid empty list",
            resigned(empty, high_s_twin(b64url_decode(empty["signature"]))),
            invalid,
        ),
        doc_vector("signature: r = 0", resigned(doc, with_rs(signature, r=0)), invalid),
        doc_vector("signature: s = 0", resigned(doc, with_rs(signature, s=0)), invalid),
        doc_vector("signature: s = n", resigned(doc, with_rs(signature, s=_P256_ORDER)), invalid),
        doc_vector("signed by another key using the active kid", _signed_payload(good, key=FORGER), invalid),
        doc_vector("signed by a published but inactive key", _signed_payload(good, key=PREVIOUS), invalid),
        doc_vector("signed by an unknown key", _signed_payload(good, key=OUTSIDER), invalid),
        doc_vector(
            "alg none",
            _signed_payload(
                good, header={"alg": "none", "kid": b64url_encode(ACTIVE.kid), "typ": "lifeline-revocations+json"}
            ),
            invalid,
        ),
        doc_vector(
            "typ missing", _signed_payload(good, header={"alg": "ES256", "kid": b64url_encode(ACTIVE.kid)}), invalid
        ),
        doc_vector("validly signed, but an unknown reason", _signed_payload(bad_reason), invalid),
        doc_vector("validly signed, but a card id twice", _signed_payload(duplicate), invalid),
        doc_vector("extra unprotected header member", {**doc, "header": {}}, invalid),
        doc_vector(
            "compact serialization instead of JSON", f"{doc['protected']}.{doc['payload']}.{doc['signature']}", invalid
        ),
        doc_vector("null", None, invalid),
    ]


def write(out_dir: Path) -> list[Path]:
    """Write both vector files into ``out_dir`` and return their paths."""
    common = {
        "generator": "tests/vectors/generate.py",
        "keys": jwks(),
        "test_private_keys": [private_jwk(k) for k in (ACTIVE, PREVIOUS, RETIRED, NEIGHBOUR, FORGER, OUTSIDER)],
    }
    files = {
        "card-credentials.json": {
            "description": "Card credential QR texts with the status every verifier must return (docs/card-format.md).",
            "host": HOST,
            **common,
            "revocations": revocation_document(),
            "vectors": credential_vectors(),
        },
        "revocation-documents.json": {
            "description": "Revocation list documents (flattened JWS) and whether a verifier must accept them.",
            **common,
            "documents": revocation_vectors(),
        },
    }
    paths = []
    for name, content in files.items():
        path = out_dir / name
        path.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent):
        print(written)
