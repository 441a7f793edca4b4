"""The key that signs audit checkpoints (Ed25519), kept in the data directory, never in the database.

Layout of ``data_dir/keys/audit`` (directory 0700, files 0600)::

    index.json    {"active": kid, "keys": {kid: {"public": base64, "created_at": unix time}}}
    <kid>.pem     PKCS#8 private key of the active key
    .lock         serialises the first creation across processes

Someone who can write to the database but not read this directory can recompute hashes but
cannot forge a checkpoint, so rewriting history before the latest checkpoint is detected.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import time
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.config import get_settings


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """16 hex digits of SHA-256 over the raw public key."""
    return hashlib.sha256(_raw(public_key)).hexdigest()[:16]


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


class AuditKeys:
    """Checkpoint signing and verification keys in one private directory."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._signer: tuple[str, Ed25519PrivateKey] | None = None

    def _index(self) -> dict:
        path = self.directory / "index.json"
        return json.loads(path.read_text()) if path.exists() else {"active": None, "keys": {}}

    def _create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            index = self._index()
            if index["active"]:
                return  # another process created it meanwhile
            private = Ed25519PrivateKey.generate()
            kid = key_id(private.public_key())
            _write_private(
                self.directory / f"{kid}.pem",
                private.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
            )
            index["active"] = kid
            index["keys"][kid] = {
                "public": base64.b64encode(_raw(private.public_key())).decode(),
                "created_at": int(time.time()),
            }
            tmp = self.directory / "index.json.tmp"
            tmp.write_text(json.dumps(index, indent=1))
            tmp.chmod(0o600)
            tmp.replace(self.directory / "index.json")

    def signer(self) -> tuple[str, Ed25519PrivateKey]:
        """The active key id and private key, created on first use."""
        if self._signer is None:
            if not self._index()["active"]:
                self._create()
            kid = self._index()["active"]
            private = serialization.load_pem_private_key((self.directory / f"{kid}.pem").read_bytes(), password=None)
            self._signer = (kid, private)
        return self._signer

    def sign(self, message: bytes) -> tuple[str, str]:
        """(key id, base64 signature) over ``message``."""
        kid, private = self.signer()
        return kid, base64.b64encode(private.sign(message)).decode()

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every key ever used, by id (retired keys still verify old checkpoints)."""
        return {
            kid: Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public"]))
            for kid, entry in self._index()["keys"].items()
        }


def check_signature(keys: dict[str, Ed25519PublicKey], kid: str, message: bytes, signature: str) -> bool:
    """True when ``signature`` (base64) by key ``kid`` is valid for ``message``."""
    key = keys.get(kid)
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


@lru_cache
def _keys_at(directory: Path) -> AuditKeys:
    return AuditKeys(directory)


def audit_keys() -> AuditKeys:
    """The audit key store of this installation (``LIFELINE_DATA_DIR/keys/audit``)."""
    return _keys_at(get_settings().resolved_data_dir / "keys" / "audit")
