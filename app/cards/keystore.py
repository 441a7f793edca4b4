"""The issuer key store: P-256 card-signing keys in a directory, never in the database.

Layout (the app passes ``data_dir / "keys" / "card"``)::

    index.json     every key ever used: kid, created_at, not_after, active, public key PEM
    <kid>.pem      PKCS#8 private key of the active key only
    .lock          serialises rotations across processes

The directory is 0700 and every file 0600. Exactly one key is active (it signs); the others
stay published for verification, so rotation never invalidates a printed card. A retired
key's private half is deleted at rotation: nothing needs it any more, and keeping it would
only widen what a stolen backup could forge.
"""

from __future__ import annotations

import builtins
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.cards.cose import es256_sign
from app.cards.keyset import KeySet, VerificationKey, public_jwk
from app.core.errors import Conflict, DomainError, NotFound

KID_LENGTH = 4
_INDEX = "index.json"
_LOCK = ".lock"


@dataclass(frozen=True)
class KeyInfo:
    kid: bytes
    created_at: int
    not_after: int | None
    active: bool
    public_key: ec.EllipticCurvePublicKey

    def verification_key(self) -> VerificationKey:
        return VerificationKey(
            kid=self.kid,
            public_key=self.public_key,
            created_at=self.created_at,
            not_after=self.not_after,
            active=self.active,
        )


class SigningKey:
    """The active private key; implements the COSE ``Signer`` protocol."""

    def __init__(self, *, kid: bytes, private_key: ec.EllipticCurvePrivateKey):
        self.kid = kid
        self._private_key = private_key

    def sign(self, message: bytes) -> bytes:
        """Raw r‖s ES256, always low-s (the only form verifiers accept; see ``es256_sign``)."""
        return es256_sign(self._private_key, message)


def derive_kid(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The key id: the first 4 bytes of SHA-256 over the SubjectPublicKeyInfo (like EU DCC, shorter)."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()[:KID_LENGTH]


class KeyStore:
    """Card-signing keys kept as files in one private directory."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._key_set: tuple[tuple[int, int, int] | None, KeySet] | None = None

    def list(self) -> list[KeyInfo]:
        """Every key, oldest first."""
        return self._read_index()

    def active(self) -> KeyInfo:
        """The key that signs new cards, or NotFound when the store is empty."""
        for info in self._read_index():
            if info.active:
                return info
        raise NotFound("カード署名鍵がありません（lifeline keys rotate で作成してください）")

    def rotate(self, *, now: int | None = None) -> KeyInfo:
        """Create a new signing key; earlier keys stay published for verification."""
        with self._locked():
            return self._add_key(self._read_index(), now=now)

    def ensure_active(self, *, now: int | None = None) -> KeyInfo:
        """The active key, created first if the store is empty (idempotent)."""
        with self._locked():
            keys = self._read_index()
            current = next((info for info in keys if info.active), None)
            return current or self._add_key(keys, now=now)

    def signing_key(self) -> SigningKey:
        """Load the active private key."""
        info = self.active()
        path = self._private_path(info.kid)
        if path.stat().st_mode & 0o077:
            raise DomainError("秘密鍵ファイルの権限が広すぎます（0600 にしてください）")
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or derive_kid(private_key.public_key()) != info.kid:
            raise DomainError("秘密鍵ファイルが鍵リストと一致しません")
        return SigningKey(kid=info.kid, private_key=private_key)

    def set_not_after(self, *, kid: bytes, not_after: int | None) -> KeyInfo:
        """Set (or clear) the time after which a retired key no longer verifies cards."""
        with self._locked():
            keys = self._read_index()
            index = next((i for i, info in enumerate(keys) if info.kid == kid), None)
            if index is None:
                raise NotFound("鍵が見つかりません")
            if keys[index].active and not_after is not None:
                raise Conflict("署名中の鍵には期限を設定できません（先に lifeline keys rotate を実行してください）")
            keys[index] = replace(keys[index], not_after=not_after)
            self._write_index(keys)
            return keys[index]

    def verification_keys(self) -> KeySet:
        """All published keys as a KeySet for ``credential.verify``, rebuilt only when the index changes."""
        try:
            status = (self.directory / _INDEX).stat()
            stamp: tuple[int, int, int] | None = (status.st_mtime_ns, status.st_ino, status.st_size)
        except FileNotFoundError:
            stamp = None
        # Importing public keys costs more than a verification; a scan should not pay for it.
        if self._key_set is None or self._key_set[0] != stamp:
            self._key_set = (stamp, KeySet(info.verification_key() for info in self._read_index()))
        return self._key_set[1]

    def public_jwks(self) -> dict:
        """The JWKS served at ``/.well-known/lifeline/keys.json``."""
        return {"keys": [public_jwk(info.verification_key()) for info in self._read_index()]}

    def _add_key(self, keys: builtins.list[KeyInfo], *, now: int | None) -> KeyInfo:
        private_key = ec.generate_private_key(ec.SECP256R1())
        kid = derive_kid(private_key.public_key())
        if any(info.kid == kid for info in keys):
            # A 32-bit kid collides once in ~4e9 keys; a fresh key is cheaper than handling it.
            return self._add_key(keys, now=now)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(self._private_path(kid), pem, exclusive=True)
        created_at = int(time.time()) if now is None else now
        new = KeyInfo(kid=kid, created_at=created_at, not_after=None, active=True, public_key=private_key.public_key())
        retired = [replace(info, active=False) for info in keys]
        self._write_index([*retired, new])
        # Only after the index names the new key, so a crash never leaves no usable signer.
        for info in keys:
            self._private_path(info.kid).unlink(missing_ok=True)
        return new

    def _private_path(self, kid: bytes) -> Path:
        return self.directory / f"{kid.hex()}.pem"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        fd = os.open(self.directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read_index(self) -> builtins.list[KeyInfo]:
        path = self.directory / _INDEX
        if not path.exists():
            return []
        try:
            keys = [_info_from_json(entry) for entry in json.loads(path.read_text())["keys"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise DomainError("鍵リスト（index.json）が壊れています") from exc
        if keys and sum(info.active for info in keys) != 1:
            raise DomainError("鍵リスト（index.json）に署名中の鍵がちょうど1つではありません")
        return keys

    def _write_index(self, keys: builtins.list[KeyInfo]) -> None:
        doc = {"keys": [_info_to_json(info) for info in keys]}
        temporary = self.directory / f"{_INDEX}.tmp"
        _write_private(temporary, json.dumps(doc, indent=2).encode(), exclusive=False)
        os.replace(temporary, self.directory / _INDEX)


def _write_private(path: Path, data: bytes, *, exclusive: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    path.chmod(0o600)


def _info_to_json(info: KeyInfo) -> dict:
    pem = info.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "kid": info.kid.hex(),
        "created_at": info.created_at,
        "not_after": info.not_after,
        "active": info.active,
        "public_key": pem.decode(),
    }


def _info_from_json(entry: dict) -> KeyInfo:
    public_key = serialization.load_pem_public_key(entry["public_key"].encode())
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 key")
    kid = bytes.fromhex(entry["kid"])
    if derive_kid(public_key) != kid:
        raise ValueError("kid does not match the public key")
    not_after = entry["not_after"]
    return KeyInfo(
        kid=kid,
        created_at=int(entry["created_at"]),
        not_after=None if not_after is None else int(not_after),
        active=bool(entry["active"]),
        public_key=public_key,
    )
