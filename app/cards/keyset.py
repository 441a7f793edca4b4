"""Verification keys as published in the JWKS (``/.well-known/lifeline/keys.json``).

A ``KeySet`` holds the imported public key objects by kid, so a verifier builds it once per
JWKS and each verification costs one ECDSA check, not a key import.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from app.core.errors import Invalid

_COORDINATE = 32


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: object) -> bytes:
    """Strict inverse of ``b64url_encode``: one spelling per byte string, else ValueError."""
    if not isinstance(text, str) or not text.isascii() or "=" in text:
        raise ValueError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data


@dataclass(frozen=True)
class VerificationKey:
    kid: bytes
    public_key: ec.EllipticCurvePublicKey
    created_at: int
    not_after: int | None
    active: bool

    def usable_at(self, now: int) -> bool:
        return self.not_after is None or now < self.not_after


def public_jwk(key: VerificationKey) -> dict:
    """The JWK of one verification key, with our ``active`` member and nbf/exp as seconds."""
    numbers = key.public_key.public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(_COORDINATE, "big")),
        "y": b64url_encode(numbers.y.to_bytes(_COORDINATE, "big")),
        "kid": b64url_encode(key.kid),
        "alg": "ES256",
        "use": "sig",
        "nbf": key.created_at,
        "active": key.active,
    }
    if key.not_after is not None:
        jwk["exp"] = key.not_after
    return jwk


def _seconds(value: object) -> int:
    if type(value) is not int or not 0 <= value < 2**53:
        raise ValueError("not a time in seconds")
    return value


def _coordinate(value: object) -> int:
    data = b64url_decode(value)
    if len(data) != _COORDINATE:
        raise ValueError("coordinate length")
    return int.from_bytes(data, "big")


def _key_from_jwk(jwk: object) -> VerificationKey:
    if not isinstance(jwk, Mapping):
        raise ValueError("a JWKS entry must be an object")
    if (jwk.get("kty"), jwk.get("crv"), jwk.get("alg", "ES256"), jwk.get("use", "sig")) != (
        "EC",
        "P-256",
        "ES256",
        "sig",
    ):
        raise ValueError("not an ES256 signing key")
    kid = b64url_decode(jwk.get("kid"))
    if not 1 <= len(kid) <= 16:
        raise ValueError("kid length")
    # public_key() checks that the point is on the curve.
    numbers = ec.EllipticCurvePublicNumbers(_coordinate(jwk.get("x")), _coordinate(jwk.get("y")), ec.SECP256R1())
    public_key = numbers.public_key()
    not_after = jwk.get("exp")
    active = jwk.get("active", False)
    if type(active) is not bool:
        raise ValueError("active must be a boolean")
    return VerificationKey(
        kid=kid,
        public_key=public_key,
        created_at=_seconds(jwk.get("nbf", 0)),
        not_after=None if not_after is None else _seconds(not_after),
        active=active,
    )


class KeySet:
    """Trusted verification keys, looked up by kid (several keys may share one)."""

    def __init__(self, keys: Iterable[VerificationKey]):
        self._by_kid: dict[bytes, list[VerificationKey]] = {}
        for key in keys:
            self._by_kid.setdefault(key.kid, []).append(key)

    @classmethod
    def from_jwks(cls, jwks: Mapping) -> KeySet:
        """Import every key of a JWKS document, raising Invalid if any entry is unusable."""
        entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(entries, list):
            raise Invalid("公開鍵リストの形式が正しくありません")
        try:
            return cls(_key_from_jwk(entry) for entry in entries)
        except ValueError as exc:
            raise Invalid("公開鍵リストの形式が正しくありません") from exc

    def with_kid(self, kid: bytes) -> list[VerificationKey]:
        return self._by_kid.get(kid, [])
