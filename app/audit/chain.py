"""The audit chain's canonical encoding: exactly which bytes are hashed and signed.

Specified byte for byte in docs/audit.md ("Format"). A record's hash is SHA-256 over
``lifeline-audit/1\\n`` followed by the JSON array of the chained fields in the order of
``CHAINED`` (UTF-8, no spaces, non-ASCII as is, ``emergency`` as 0/1, ``at`` as
``YYYY-MM-DDTHH:MM:SS.ffffffZ``). An array with a fixed order, rather than an object, because
SQLite's ``json_array`` produces the very same bytes, which lets ``audit verify`` hash a million
records in a few seconds (app.audit.verify).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

GENESIS = "0" * 64
RECORD_DOMAIN = b"lifeline-audit/1\n"
CHECKPOINT_DOMAIN = b"lifeline-audit-checkpoint/1\n"
CHAINED = (
    "seq",
    "at",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "organisation",
    "device",
    "action",
    "person_id",
    "household_id",
    "fields",
    "purpose",
    "incident",
    "emergency",
    "outcome",
    "ip",
    "prev_hash",
)
AT, EMERGENCY = CHAINED.index("at"), CHAINED.index("emergency")

# One encoder object: json.dumps with options would build a new encoder for every call.
encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_RECORD_BASE = hashlib.sha256(RECORD_DOMAIN)


def at_text(value: datetime) -> str:
    """The timestamp as hashed: UTC, microseconds, ``Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_values(event) -> list:
    """The chained values of an event (an object with the fields as attributes) in hashing order."""
    values = [getattr(event, name) for name in CHAINED]
    values[AT] = at_text(values[AT]) if isinstance(values[AT], datetime) else values[AT]
    values[EMERGENCY] = int(bool(values[EMERGENCY]))
    return values


def payload(values: Sequence) -> bytes:
    """The JSON part of the canonical encoding (what SQLite's json_array yields)."""
    return encode_json(list(values)).encode("utf-8")


def canonical(event) -> bytes:
    """Every byte that is hashed for one record."""
    return RECORD_DOMAIN + payload(record_values(event))


def hash_payload(data: bytes) -> str:
    """SHA-256 (hex) of the domain prefix followed by ``data``."""
    digest = _RECORD_BASE.copy()
    digest.update(data)
    return digest.hexdigest()


def digest(event) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def checkpoint_message(*, seq: int, hash: str, prev_seq: int, signed_at: str, kid: str) -> bytes:
    """What a checkpoint signature covers; ``prev_seq`` chains checkpoints so none can vanish unseen."""
    return CHECKPOINT_DOMAIN + payload([seq, hash, prev_seq, signed_at, kid])
