"""Encryption at rest for medical fields and insurance numbers (AES-256-GCM).

The key ring is never in the database, so a copy of the database or of a backup holds
ciphertext only. It comes from the first of (docs/operations.md, "Keys"):

1. ``LIFELINE_FIELD_KEYS``: the ring's JSON itself (a secret store or systemd credential);
2. ``LIFELINE_FIELD_KEYS_FILE``: a path to that JSON;
3. ``LIFELINE_DATA_DIR/keys/field-keys.json`` (mode 0600), created with a fresh key on first start.

The JSON is ``{"active": KID, "keys": {KID: base64 of 32 bytes, …}}``. Each value names the
key that sealed it (``enc1:KID:…``), so ``lifeline keys rotate-fields`` can move values to a
new key in batches while the service keeps reading both.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.types import Text, TypeDecorator

from app.core.config import Settings, get_settings

PREFIX = "enc1"
# Letters and digits only: the kid is matched with SQL LIKE, where "_" and "%" are wildcards.
_KID = re.compile(r"[A-Za-z0-9]{1,32}")


class KeyRingError(Exception):
    """The key ring is missing, malformed, or cannot be written."""


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
        if kid not in self.keys:
            raise KeyError(f"field key {kid!r} is not in the key ring")
        raw = base64.urlsafe_b64decode(blob)
        return AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], kid.encode()).decode("utf-8")

    def with_new_key(self) -> FieldKeyRing:
        """This ring plus a fresh key, which becomes the active one (earlier keys keep decrypting)."""
        kid = new_kid()
        return FieldKeyRing(active=kid, keys={**self.keys, kid: AESGCM.generate_key(256)})

    def without(self, kid: str) -> FieldKeyRing:
        if kid == self.active:
            raise KeyRingError(f"{kid} is the active key; rotate to a new key before retiring it")
        return FieldKeyRing(active=self.active, keys={k: v for k, v in self.keys.items() if k != kid})

    def to_json(self) -> str:
        return json.dumps(
            {"active": self.active, "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()}}
        )

    @classmethod
    def from_json(cls, text: str, *, origin: str) -> FieldKeyRing:
        try:
            doc = json.loads(text)
            keys = {kid: base64.b64decode(value, validate=True) for kid, value in doc["keys"].items()}
            active = doc["active"]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyRingError(f"{origin}: not a field key ring ({exc.__class__.__name__}: {exc})") from None
        if active not in keys:
            raise KeyRingError(f"{origin}: the active key {active!r} is not among its keys")
        for kid, key in keys.items():
            if not _KID.fullmatch(kid) or len(key) != 32:
                raise KeyRingError(f"{origin}: key {kid!r} needs an id of letters and digits and 32 bytes of key")
        return cls(active=active, keys=keys)


def new_kid() -> str:
    return "f" + secrets.token_hex(4)


class KeySource:
    """Where the ring comes from; ``stamp`` changes when it may have changed (then it is re-read)."""

    def __init__(self, settings: Settings):
        self.inline = settings.field_keys.get_secret_value().strip()
        self.path = (
            None
            if self.inline
            else (settings.field_keys_file or settings.resolved_data_dir / "keys" / "field-keys.json")
        )
        self.created_on_start = not self.inline and settings.field_keys_file is None

    def describe(self) -> str:
        return "LIFELINE_FIELD_KEYS" if self.inline else str(self.path)

    @property
    def writable(self) -> bool:
        return self.path is not None

    def stamp(self):
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def load(self) -> FieldKeyRing:
        if self.inline:
            return FieldKeyRing.from_json(self.inline, origin="LIFELINE_FIELD_KEYS")
        if not self.path.exists():
            if not self.created_on_start:
                raise KeyRingError(f"LIFELINE_FIELD_KEYS_FILE: {self.path} does not exist")
            self._create()
        return FieldKeyRing.from_json(self.path.read_text(), origin=str(self.path))

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.parent.chmod(0o700)
        kid = new_kid()
        ring = FieldKeyRing(active=kid, keys={kid: AESGCM.generate_key(256)})
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker created it first
            return
        with os.fdopen(fd, "w") as fh:
            fh.write(ring.to_json())

    def save(self, ring: FieldKeyRing) -> None:
        """Replace the ring file atomically (readers see the old ring or the new one, never half)."""
        if self.path is None:
            raise KeyRingError("the field keys come from LIFELINE_FIELD_KEYS, which this process cannot change")
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(ring.to_json())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise KeyRingError(f"cannot write {self.path}: {exc.strerror}") from None


_lock = threading.Lock()
_cached: tuple[tuple, FieldKeyRing] | None = None
_source: tuple[Settings, KeySource] | None = None


def key_source() -> KeySource:
    global _source
    settings = get_settings()
    if _source is None or _source[0] is not settings:
        _source = (settings, KeySource(settings))
    return _source[1]


def field_keyring() -> FieldKeyRing:
    """The current ring, re-read when its file changed, so every worker of a running service
    follows a rotation (``lifeline keys rotate-fields``) without a restart."""
    global _cached
    source = key_source()
    signature = (source.inline, source.path, source.stamp())
    cached = _cached
    if cached is not None and cached[0] == signature:
        return cached[1]
    with _lock:
        ring = source.load()
        _cached = ((source.inline, source.path, source.stamp()), ring)
        return ring


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
