"""Encryption at rest for medical fields and insurance numbers (AES-256-GCM).

The key ring lives in the data directory (``keys/field-keys.json``, mode 0600), never in
the database, so a copy of the database or of a backup holds ciphertext only. Each value
records the id of the key that sealed it, so keys can be rotated without re-encrypting
everything at once.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.types import Text, TypeDecorator

from app.core.config import get_settings

PREFIX = "enc1"


@dataclass(frozen=True)
class FieldKeyRing:
    active: str
    keys: dict[str, bytes]

    def seal(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        ct = AESGCM(self.keys[self.active]).encrypt(nonce, plaintext.encode("utf-8"), self.active.encode())
        return f"{PREFIX}:{self.active}:{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def open(self, token: str) -> str:
        prefix, kid, blob = token.split(":", 2)
        if prefix != PREFIX:
            raise ValueError("not an encrypted field")
        raw = base64.urlsafe_b64decode(blob)
        return AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], kid.encode()).decode("utf-8")


def _keyring_path(data_dir: Path) -> Path:
    return data_dir / "keys" / "field-keys.json"


def load_or_create_keyring(data_dir: Path) -> FieldKeyRing:
    """Read the field key ring, creating one with a fresh key on first start."""
    path = _keyring_path(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        kid = "f" + secrets.token_hex(4)
        doc = {"active": kid, "keys": {kid: base64.b64encode(AESGCM.generate_key(256)).decode()}}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
    doc = json.loads(path.read_text())
    return FieldKeyRing(active=doc["active"], keys={k: base64.b64decode(v) for k, v in doc["keys"].items()})


@lru_cache
def field_keyring() -> FieldKeyRing:
    return load_or_create_keyring(get_settings().resolved_data_dir)


class EncryptedText(TypeDecorator):
    """A text column stored as AES-GCM ciphertext; ``None`` stays NULL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return field_keyring().seal(str(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return field_keyring().open(value)
