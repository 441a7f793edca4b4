"""COSE_Sign1 (RFC 9052) with ES256, limited to the one shape a card uses and decoded strictly.

Strict means: exactly one accepted byte string per credential. Every part must be in
deterministic encoding (RFC 8949 §4.2.1), which we check by re-encoding the decoded value
and comparing bytes; so a verifier never has to reason about two spellings of one card.
The signature is strict too: ECDSA is malleable ((r, s) and (r, n − s) both verify), so the
issuer writes only the low-s form and verifiers refuse the other (docs/card-format.md §1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, TypeGuard

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from app.cards.errors import MalformedCredential

COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
ALG_ES256 = -7
SIGNATURE_LENGTH = 64
MAX_KID_LENGTH = 16
_COORDINATE = 32
# The order n of the P-256 group (SEC 2 §2.4.2, FIPS 186-4 D.1.2.3). A signature is accepted
# only with 1 ≤ r < n and 1 ≤ s ≤ (n − 1) / 2 ("low s"): one valid encoding per signature.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_HALF_ORDER = P256_ORDER // 2


class Signer(Protocol):
    kid: bytes

    def sign(self, message: bytes) -> bytes:
        """Return the raw r‖s ES256 signature of ``message``."""
        ...


@dataclass(frozen=True)
class Sign1:
    protected: bytes
    kid: bytes
    payload: bytes
    signature: bytes

    @property
    def signed_bytes(self) -> bytes:
        return sig_structure(protected=self.protected, payload=self.payload)


def sig_structure(*, protected: bytes, payload: bytes) -> bytes:
    """The bytes an ES256 COSE_Sign1 signs: ["Signature1", protected, h'', payload] (RFC 9052 §4.4)."""
    return cbor2.dumps(["Signature1", protected, b"", payload], canonical=True)


def es256_sign(private_key: ec.EllipticCurvePrivateKey, message: bytes, *, deterministic: bool = False) -> bytes:
    """Sign with ECDSA P-256/SHA-256 and return the fixed 64-byte r‖s form COSE and JWS use, always low-s."""
    if not isinstance(private_key.curve, ec.SECP256R1):
        raise ValueError("ES256 needs a P-256 key")
    der = private_key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=deterministic))
    r, s = decode_dss_signature(der)
    # OpenSSL returns either of the two valid s values; verifiers accept only the lower one.
    if s > P256_HALF_ORDER:
        s = P256_ORDER - s
    return r.to_bytes(_COORDINATE, "big") + s.to_bytes(_COORDINATE, "big")


def es256_verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> bool:
    """Check a raw r‖s ES256 signature; a high-s or out-of-range r or s never verifies."""
    if len(signature) != SIGNATURE_LENGTH:
        return False
    r, s = (int.from_bytes(half, "big") for half in (signature[:_COORDINATE], signature[_COORDINATE:]))
    if not (1 <= r < P256_ORDER and 1 <= s <= P256_HALF_ORDER):
        return False
    der = encode_dss_signature(r, s)
    try:
        public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def is_high_s(signature: bytes) -> bool:
    """Whether a raw r‖s signature is the high-s one of its two encodings: refused by ``es256_verify``, and what
    the issuer wrote about half the time before the low-s rule (``cards.service.high_s_batches`` finds those)."""
    return int.from_bytes(signature[_COORDINATE:], "big") > P256_HALF_ORDER


def encode_sign1(*, payload: bytes, signer: Signer) -> bytes:
    """Build a tagged COSE_Sign1 with alg and kid protected, no unprotected header, payload embedded."""
    protected = cbor2.dumps({HEADER_ALG: ALG_ES256, HEADER_KID: signer.kid}, canonical=True)
    signature = signer.sign(sig_structure(protected=protected, payload=payload))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]), canonical=True)


def decode_canonical(data: bytes) -> object:
    """Decode one CBOR item that must fill ``data`` exactly."""
    try:
        # cbor2 raises assorted exception types on junk (and ignores trailing bytes,
        # which the re-encoding comparison in the callers catches).
        return cbor2.loads(data)
    except Exception as exc:
        raise MalformedCredential("cbor") from exc


def require_canonical(value: object, data: bytes) -> None:
    """Refuse any encoding of ``value`` other than the deterministic one."""
    if cbor2.dumps(value, canonical=True) != data:
        raise MalformedCredential("noncanonical")


def is_uint(value: object) -> TypeGuard[int]:
    # bool is an int subclass in Python; CBOR true/false must not pass as numbers.
    return type(value) is int and 0 <= value < 2**53


def decode_sign1(data: bytes) -> Sign1:
    """Parse a tagged COSE_Sign1 of the card shape, raising MalformedCredential otherwise."""
    item = decode_canonical(data)
    if not isinstance(item, cbor2.CBORTag) or item.tag != COSE_SIGN1_TAG:
        raise MalformedCredential("tag")
    parts = item.value
    if not isinstance(parts, (list, tuple)) or len(parts) != 4:
        raise MalformedCredential("structure")
    protected, unprotected, payload, signature = parts
    if not (isinstance(protected, bytes) and isinstance(payload, bytes) and isinstance(signature, bytes)):
        raise MalformedCredential("structure")
    if not isinstance(unprotected, Mapping) or unprotected:
        raise MalformedCredential("unprotected_header")
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedCredential("signature_length")
    require_canonical(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]), data)
    return Sign1(protected=protected, kid=_decode_protected(protected), payload=payload, signature=signature)


def _decode_protected(protected: bytes) -> bytes:
    header = decode_canonical(protected)
    if not isinstance(header, Mapping) or set(header) != {HEADER_ALG, HEADER_KID}:
        raise MalformedCredential("protected_header")
    alg, kid = header[HEADER_ALG], header[HEADER_KID]
    if type(alg) is not int or alg != ALG_ES256:
        raise MalformedCredential("alg")
    if not isinstance(kid, bytes) or not 1 <= len(kid) <= MAX_KID_LENGTH:
        raise MalformedCredential("kid")
    require_canonical({HEADER_ALG: alg, HEADER_KID: kid}, protected)
    return kid
