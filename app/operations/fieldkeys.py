"""Field key rotation: move every encrypted value to the active key, then retire old keys.

Works on raw column values (``enc1:KID:…``) with SQLAlchemy Core, never through the models, so
nothing but the ciphertext changes: no version bump, no ``updated_at``, no history row (the
plaintext is the same). Each batch is its own transaction and each row is updated only if it
still holds the value read (compare-and-swap), so the service can keep running, an interrupted
run loses nothing, and running again continues where it stopped: values already under the
active key are skipped by their prefix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from sqlalchemy import Table, and_, bindparam, column, func, select, table, update
from sqlalchemy.engine import Engine

import app.models  # noqa: F401  (registers every table)
from app.core.crypto import PREFIX, EncryptedText, FieldKeyRing, KeyRingError, KeySource
from app.core.db import metadata


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    pk: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


def encrypted_columns() -> list[EncryptedColumn]:
    """Every column of the schema stored with :class:`EncryptedText`, found in the models."""
    out = []
    for tbl in metadata.sorted_tables:
        for col in tbl.columns:
            if isinstance(col.type, EncryptedText):
                out.append(EncryptedColumn(tbl.name, col.name, _single_pk(tbl)))
    return out


def _single_pk(tbl: Table) -> str:
    (pk,) = tbl.primary_key.columns  # every table with medical text has an integer id
    return pk.name


def _raw(col: EncryptedColumn):
    """The table as plain text columns: values are read and written as stored (ciphertext)."""
    return table(col.table, column(col.pk), column(col.column))


def _prefix(kid: str) -> str:
    return f"{PREFIX}:{kid}:%"


def keys_in_use(bind) -> Counter:
    """How many stored values each key id sealed (``"?"``: a value that is not ``enc1:…``)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return keys_in_use(conn)
    counts: Counter = Counter()
    for col in encrypted_columns():
        value = _raw(col).c[col.column]
        if bind.dialect.name == "postgresql":
            kid = func.split_part(value, ":", 2)
        else:  # "enc1:" is 5 characters; the kid runs to the next colon
            rest = func.substr(value, 6)
            kid = func.substr(rest, 1, func.instr(rest, ":") - 1)
        kid = kid.label("kid")
        counts.update(
            dict(bind.execute(select(kid, func.count()).where(value.like(f"{PREFIX}:%")).group_by(kid)).all())
        )
        foreign = bind.execute(select(func.count()).where(value.is_not(None), value.not_like(f"{PREFIX}:%"))).scalar()
        if foreign:
            counts["?"] += foreign
    return counts


@dataclass
class Progress:
    column: str
    reencrypted: int
    total: int


@dataclass
class RotationReport:
    active: str
    new_key: bool
    reencrypted: Counter = field(default_factory=Counter)  # per column
    unreadable: Counter = field(default_factory=Counter)  # per column: a kid not in the ring, or corrupt
    changed_meanwhile: int = 0  # rows the service rewrote between our read and our write
    remaining: Counter = field(default_factory=Counter)  # values per kid afterwards

    @property
    def complete(self) -> bool:
        return not self.unreadable and set(self.remaining) <= {self.active}


def reencrypt(
    engine: Engine, ring: FieldKeyRing, *, batch_size: int = 500, progress: Callable[[Progress], None] | None = None
) -> RotationReport:
    """Re-seal every value not under ``ring.active`` with it, ``batch_size`` rows per transaction."""
    report = RotationReport(active=ring.active, new_key=False)
    for col in encrypted_columns():
        t = _raw(col)
        pk, value = t.c[col.pk], t.c[col.column]
        stale = and_(value.is_not(None), value.not_like(_prefix(ring.active)))
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(t).where(stale)).scalar()
        if not total:
            continue
        swap = (
            update(t)
            .where(pk == bindparam("b_pk"), value == bindparam("b_old"))
            .values({col.column: bindparam("b_new")})
        )
        for batch in _batches(engine, pk, value, stale, batch_size):
            params = []
            for row_pk, old in batch:
                try:
                    params.append({"b_pk": row_pk, "b_old": old, "b_new": ring.seal(ring.open(old))})
                except (ValueError, KeyError, InvalidTag):  # not enc1, a kid not in the ring, or corrupt
                    report.unreadable[str(col)] += 1
            if params:
                with engine.begin() as conn:
                    done = conn.execute(swap, params).rowcount
                report.reencrypted[str(col)] += done
                report.changed_meanwhile += len(params) - done
            if progress:
                progress(Progress(str(col), report.reencrypted[str(col)], total))
    report.remaining = keys_in_use(engine)
    return report


def _batches(engine: Engine, pk, value, stale, size: int) -> Iterator[list[tuple]]:
    """Stale rows in primary-key order, ``size`` at a time; each batch is read in a fresh connection."""
    last = None
    while True:
        query = select(pk, value).where(stale).order_by(pk).limit(size)
        if last is not None:
            query = query.where(pk > last)
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(query)]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def rotate(
    engine: Engine,
    source: KeySource,
    *,
    new_key: bool | None = None,
    batch_size: int = 500,
    progress: Callable[[Progress], None] | None = None,
) -> RotationReport:
    """Make a new active key (unless an earlier rotation is unfinished), then re-encrypt to it.

    ``new_key=None`` decides: values still under an older key mean an earlier run was interrupted,
    so it continues with the current active key; otherwise a new key is made. The new ring is
    saved *before* any value is sealed with it, so a crash never leaves values nobody can open.
    """
    ring = source.load()
    if new_key is None:
        new_key = set(keys_in_use(engine)) <= {ring.active}
    if new_key:
        ring = ring.with_new_key()
        source.save(ring)
    report = reencrypt(engine, ring, batch_size=batch_size, progress=progress)
    report.new_key = new_key
    return report


def retire(engine: Engine, source: KeySource, kid: str) -> Counter:
    """Remove ``kid`` from the ring, only when no stored value uses it; the counts per key otherwise."""
    ring = source.load()
    if kid not in ring.keys:
        raise KeyRingError(f"{kid} is not in the key ring ({source.describe()})")
    in_use = keys_in_use(engine)
    if in_use.get(kid):
        return in_use
    source.save(ring.without(kid))
    return in_use
