"""kill -9 during ``lifeline import households``: nothing half-imported; the run reads as
interrupted, is reported on the next run, and the same file imports completely, once."""

from __future__ import annotations

from collections import Counter

from tests.crash.conftest import kill_when
from tests.imports.conftest import row, to_csv

ROWS = 12_000  # three people per household: long enough a write phase to kill it part-way


def registry(n: int) -> list[list[str]]:
    return [
        row(
            household=str(500000 + i // 3),
            person=str(5000000 + i),
            given=f"試{i}",
            address=f"見本町{i // 3}-1",
            born=f"昭和{5 + i % 30}年{1 + i % 12}月{1 + i % 28}日",
        )
        for i in range(n)
    ]


def test_kill_9_during_import_leaves_no_half_household_and_the_rerun_completes_once(instance, tmp_path):
    rows = registry(ROWS)
    members = Counter(r[0] for r in rows)
    path = tmp_path / "registry.csv"
    path.write_bytes(to_csv(rows, encoding="cp932"))

    proc = instance.start("import", "households", str(path))
    if instance.is_sqlite():
        # The job row cannot be written while the import holds SQLite's one write lock; the write
        # phase shows as the write-ahead log filling with the import's uncommitted pages.
        wal = instance.data_dir.parent / "scratch.sqlite3-wal"
        started: list[int] = []

        def writing() -> bool:
            if not started:
                if instance.scalar("SELECT status FROM importjob ORDER BY id DESC LIMIT 1") == "running":
                    started.append(wal.stat().st_size if wal.exists() else 0)
                return False
            return wal.exists() and wal.stat().st_size > started[0] + 2_000_000
    else:

        def writing() -> bool:
            return (
                instance.scalar(
                    "SELECT processed_rows FROM importjob WHERE status = 'running' ORDER BY id DESC LIMIT 1"
                )
                or 0
            ) > ROWS // 10

    kill_when(proc, writing, "the import writing rows")

    # Nothing half-imported: the write phase is one transaction.
    assert instance.scalar("SELECT count(*) FROM household") == 0
    assert instance.scalar("SELECT count(*) FROM person") == 0
    assert instance.scalar("SELECT count(*) FROM change") == 0
    assert instance.scalar("SELECT status FROM importjob") == "running"  # as the killed process left it

    again = instance.run("import", "households", str(path))
    assert again.returncode == 0, again.stderr
    assert "note: import job 1 (registry.csv) was interrupted" in again.stderr
    assert f"{ROWS} created" in again.stdout
    assert instance.rows("SELECT id, status FROM importjob ORDER BY id") == [(1, "interrupted"), (2, "done")]
    # Every household whole, nobody twice.
    stored = Counter(
        dict(
            instance.rows(
                "SELECT h.external_ref, count(p.id) FROM household h JOIN person p ON p.household_id = h.id GROUP BY "
                "h.external_ref"
            )
        )
    )
    assert stored == members
    assert (
        instance.scalar("SELECT count(DISTINCT external_ref) FROM person")
        == instance.scalar("SELECT count(*) FROM person")
        == ROWS
    )

    once_more = instance.run("import", "households", str(path))
    assert once_more.returncode == 0 and f"0 created, 0 updated, {ROWS} unchanged" in once_more.stdout
    assert "was interrupted" not in once_more.stderr
    assert instance.scalar("SELECT count(*) FROM person") == ROWS
