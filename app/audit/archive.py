"""Closed segments of the audit log as files: ``lifeline audit export`` / ``verify --archive``.

A segment runs from one signed checkpoint (or the genesis) to a later one. The file is JSON
lines: a header with both anchoring checkpoints and those in between, then one record per
line with every column. It verifies on its own, with only the public checkpoint keys, so it
can be kept on write-once media for the retention period (docs/audit.md).
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session
from sqlmodel import select as select_model

from app.audit.chain import CHAINED, EMERGENCY, GENESIS, at_text
from app.audit.models import AuditCheckpoint, AuditEvent
from app.audit.verify import Report, _check_checkpoints, scan
from app.core.clock import utcnow
from app.core.errors import Invalid

FORMAT = "lifeline-audit-archive/1"
_COLUMNS = ("id", "seq", "hash") + tuple(c for c in CHAINED if c != "seq")


def _open(path: Path, mode: str, *, gzipped: bool | None = None):
    if path.suffix == ".gz" if gzipped is None else gzipped:
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def _checkpoint_doc(cp: AuditCheckpoint) -> dict:
    return {
        "seq": cp.seq,
        "hash": cp.hash,
        "prev_seq": cp.prev_seq,
        "signed_at": at_text(cp.signed_at),
        "kid": cp.kid,
        "signature": cp.signature,
    }


def _checkpoint_from(doc: dict) -> AuditCheckpoint:
    return AuditCheckpoint(
        seq=doc["seq"],
        hash=doc["hash"],
        prev_seq=doc["prev_seq"],
        signed_at=datetime.fromisoformat(doc["signed_at"].replace("Z", "+00:00")),
        kid=doc["kid"],
        signature=doc["signature"],
    )


def export_segment(*, engine, path: Path, until_seq: int | None = None, from_seq: int = 1) -> dict:
    """Write records ``from_seq``..``until_seq`` (both anchored by checkpoints) to ``path``; return the header."""
    with Session(engine) as session:
        checkpoints = {cp.seq: cp for cp in session.exec(select_model(AuditCheckpoint).order_by(AuditCheckpoint.seq))}
        if until_seq is None:
            if not checkpoints:
                raise Invalid("チェックポイントがまだありません。先に lifeline audit checkpoint を実行してください")
            until_seq = max(checkpoints)
        if until_seq not in checkpoints:
            near = sorted(checkpoints, key=lambda s: abs(s - until_seq))[:3]
            raise Invalid(
                "seq %(seq)s にはチェックポイントがありません（近いもの：%(near)s）",
                seq=until_seq,
                near=", ".join(map(str, sorted(near))) or "-",
            )
        if from_seq < 1 or from_seq > until_seq or (from_seq > 1 and from_seq - 1 not in checkpoints):
            raise Invalid("区間の始まりは 1 か、チェックポイントの次の seq にしてください")
        start = _checkpoint_doc(checkpoints[from_seq - 1]) if from_seq > 1 else {"seq": 0, "hash": GENESIS}
        header = {
            "format": FORMAT,
            "from_seq": from_seq,
            "until_seq": until_seq,
            "exported_at": at_text(utcnow()),
            "start": start,
            "end": _checkpoint_doc(checkpoints[until_seq]),
            "checkpoints": [
                _checkpoint_doc(cp) for seq, cp in sorted(checkpoints.items()) if from_seq <= seq < until_seq
            ],
        }
        rows = session.execute(
            select(*(getattr(AuditEvent, c) for c in _COLUMNS))
            .where(AuditEvent.seq >= from_seq, AuditEvent.seq <= until_seq)
            .order_by(AuditEvent.seq)
            .execution_options(yield_per=5000)
        )
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        # The records name people and their accesses: the file is as private as the database.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        with _open(tmp, "w", gzipped=path.suffix == ".gz") as out:
            out.write(json.dumps(header, ensure_ascii=False) + "\n")
            for row in rows:
                doc = dict(zip(_COLUMNS, row))
                doc["at"] = at_text(doc["at"])
                out.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
        tmp.replace(path)
    return header


def _rows(lines: Iterator[str]) -> Iterator[list]:
    batch = []
    for line in lines:
        if not line.strip():
            continue
        doc = json.loads(line)
        values = [doc[name] for name in CHAINED]
        values[EMERGENCY] = int(bool(values[EMERGENCY]))
        batch.append((doc["seq"], doc["id"], doc["prev_hash"], doc["hash"], *values))
        if len(batch) >= 10_000:
            yield batch
            batch = []
    if batch:
        yield batch


def verify_archive(path: Path, *, keys) -> Report:
    """Verify a segment file: every record, its links, and the checkpoints that anchor it."""
    started, cpu = time.perf_counter(), time.process_time()
    report = Report(source=str(path))
    with _open(Path(path), "r") as fh:
        try:
            header = json.loads(fh.readline())
        except json.JSONDecodeError:
            header = {}
        if header.get("format") != FORMAT:
            raise Invalid("監査記録のアーカイブファイルではありません")
        start, end = header["start"], _checkpoint_from(header["end"])
        anchors = (
            ([_checkpoint_from(start)] if start["seq"] else [])
            + [_checkpoint_from(c) for c in header["checkpoints"]]
            + [end]
        )
        seen = scan(
            _rows(fh),
            report,
            raw=True,
            start_seq=header["from_seq"],
            start_hash=start["hash"],
            watch={c.seq for c in anchors},
        )
    report.first_seq = header["from_seq"]
    if report.last_seq != header["until_seq"] or report.last_hash != end.hash:
        report.add(report.last_seq + 1, "head", f"the segment should end at seq {header['until_seq']}")
    # The first anchor's predecessor lies outside the file; the chain between anchors is checked.
    _check_checkpoints(report, anchors, seen, keys, previous=anchors[0].prev_seq)
    report.seconds, report.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return report
