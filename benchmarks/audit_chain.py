"""Audit records in bulk for the generated region, continuing the installation's hash chain.

The canonical encoding and the checkpoint message are app.audit.chain's, and checkpoints are
signed with the installation's audit key at every ``audit_checkpoint_every``-th seq, as the
writer (app.audit.service.append) does; so ``lifeline audit verify`` must report the result
intact. Run it with the service stopped: the head is read once and moved after every batch.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from region import AUDIT_BATCH, _insert
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

FIRE_DEPARTMENTS = (
    "埼玉東部消防組合 加須消防署",
    "埼玉東部消防組合 久喜消防署",
    "行田市消防本部",
    "埼玉東部消防組合 幸手消防署",
)
# (action, role, share); person-less actions leave person_id empty
ACTIONS = (
    ("scan.view", "paramedic", 30),
    ("person.view", "staff", 35),
    ("person.search", "staff", 20),
    ("auth.login", "staff", 10),
    ("scan.verify", "paramedic", 5),
)


def _rows(
    rng: random.Random, *, first_seq: int, count: int, prev_hash: str, base: datetime, persons: list[tuple[int, int]]
):
    from app.audit.chain import at_text, hash_payload, payload

    actions, weights = [a[:2] for a in ACTIONS], [a[2] for a in ACTIONS]
    picks = rng.choices(actions, weights, k=count)
    for offset, (action, role) in enumerate(picks):
        seq = first_seq + offset
        at = base + timedelta(seconds=30 * seq, microseconds=rng.randint(0, 29_999_999))
        person_id, household_id = (
            rng.choice(persons) if persons and action in ("scan.view", "person.view") else (None, None)
        )
        crew = role == "paramedic"
        user = rng.randint(1, 300)
        row = {
            "id": seq,
            "seq": seq,
            "at": at,
            "actor_user_id": user,
            "actor_username": f"{role}-{user:03d}",
            "actor_role": role,
            "organisation": rng.choice(FIRE_DEPARTMENTS) if crew else "加須市 高齢介護課",
            "device": f"救急{user % 40 + 1}号車 端末" if crew else "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
            "action": action,
            "person_id": person_id,
            "household_id": household_id,
            "fields": "emergency_summary" if crew else "dataset",
            "purpose": "意識障害のため" if crew else role,
            "incident": f"R8-{seq % 1_000_000:06d}" if crew else "",
            "emergency": crew and rng.random() < 0.03,
            "outcome": "revoked" if action == "scan.verify" else "ok",
            "ip": f"10.0.{user % 200}.{user % 250 + 1}",
            "prev_hash": prev_hash,
        }
        values = [
            row[name]
            for name in (
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
        ]
        values[1], values[13] = at_text(at), int(row["emergency"])
        row["hash"] = prev_hash = hash_payload(payload(values))
        yield row


def generate_audit(engine: Engine, *, records: int, rng: random.Random, log) -> int:
    """Append ``records`` chained records (dated over the last ~two years) with their signed checkpoints."""
    from app.audit.chain import at_text, checkpoint_message
    from app.audit.models import AuditCheckpoint, AuditEvent, AuditHead
    from app.audit.signing import audit_keys
    from app.core.config import get_settings
    from app.persons.models import Person

    every = get_settings().audit_checkpoint_every
    keys = audit_keys()
    kid, _ = keys.signer()
    with engine.begin() as conn:
        head_seq, head_hash = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
        prev_cp = conn.execute(select(func.max(AuditCheckpoint.seq))).scalar() or 0
        persons = [tuple(r) for r in conn.execute(select(Person.id, Person.household_id))]
    # Dated so the last generated record is a little before now (and after anything existing, roughly).
    base = datetime.now(UTC) - timedelta(seconds=30 * (head_seq + records + 1))
    done, started = 0, time.perf_counter()
    while done < records:
        count = min(AUDIT_BATCH, records - done)
        rows = list(_rows(rng, first_seq=head_seq + 1, count=count, prev_hash=head_hash, base=base, persons=persons))
        checkpoints = []
        for row in rows:
            if row["seq"] % every == 0:
                signed_at = row["at"] + timedelta(milliseconds=1)
                message = checkpoint_message(
                    seq=row["seq"], hash=row["hash"], prev_seq=prev_cp, signed_at=at_text(signed_at), kid=kid
                )
                checkpoints.append(
                    {
                        "seq": row["seq"],
                        "hash": row["hash"],
                        "prev_seq": prev_cp,
                        "signed_at": signed_at,
                        "kid": kid,
                        "signature": keys.sign(message)[1],
                    }
                )
                prev_cp = row["seq"]
        head_seq, head_hash = rows[-1]["seq"], rows[-1]["hash"]
        with engine.begin() as conn:
            _insert(conn, AuditEvent.__table__, rows)
            _insert(conn, AuditCheckpoint.__table__, checkpoints)
            conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=head_seq, hash=head_hash))
        done += count
        if done % 200_000 == 0 or done == records:
            log(f"  {done:,} audit records ({done / (time.perf_counter() - started):,.0f}/s)", flush=True)
    return records
