"""``lifeline backup`` / ``lifeline restore``: backup → the database is lost → restore → the data
and the audit chain are intact. On SQLite and, when the suite runs there, on PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest
from sqlmodel import Session, select

from app.operations import backup as backups
from app.operations import dumps
from app.operations.dumps import BackupError
from app.persons.models import ClinicalEntry, Person
from tests.operations.conftest import INSURANCE_NO, MEDICATION, seed, verify


def _dataset(engine) -> list[tuple]:
    with Session(engine) as session:
        persons = session.exec(select(Person).order_by(Person.id)).all()
        entries = session.exec(select(ClinicalEntry).order_by(ClinicalEntry.id)).all()
        return [(p.id, p.family_name, p.insurance_number, p.acp_notes, p.version) for p in persons] + [
            (e.id, e.person_id, e.kind.value, e.text) for e in entries
        ]


def test_backup_wipe_restore_through_the_command(installation, tmp_path):
    seed(installation.engine)
    before = _dataset(installation.engine)
    audit_before = installation.scalar("SELECT max(seq) FROM auditevent")
    out = tmp_path / "nightly.tar"

    made = installation.cli("backup", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert "KEYS ARE NOT IN THIS BACKUP" in made.stdout
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(out) as tar:
        assert sorted(tar.getnames()) == sorted(["manifest.json", backups.DUMP[installation.engine.dialect.name]])
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert not any("key" in name and name.endswith((".json", ".pem")) for name in tar.getnames())
    assert manifest["format"] == backups.FORMAT and manifest["contains_keys"] is False
    assert manifest["schema_revision"] == backups.schema_revision(installation.engine)
    assert manifest["app_version"] == backups.app_version()
    assert sum(manifest["field_keys_used"].values()) > 0

    installation.wipe()
    restored = installation.cli("restore", str(out))
    assert restored.returncode == 0, restored.stderr
    assert "verify" in restored.stdout

    after = _dataset(installation.engine)
    assert after == before
    assert MEDICATION in {row[3] for row in after if len(row) == 4}  # decrypts with the keys kept apart
    assert INSURANCE_NO in {row[2] for row in after if len(row) == 5}
    report = verify(installation.engine)
    assert report.ok, report.first_broken and report.first_broken.describe()
    assert report.checkpoints >= 1
    # The backup's own "requested" record is in it, the restore's record follows it.
    assert installation.scalar("SELECT max(seq) FROM auditevent") == audit_before + 2
    assert installation.scalar("SELECT action FROM auditevent ORDER BY seq DESC LIMIT 1") == "backup.restore"


def test_restore_refuses_a_database_in_use_unless_forced(installation, tmp_path):
    ids = seed(installation.engine, persons=1)["person_ids"]
    out = tmp_path / "b.tar"
    backups.create(engine=installation.engine, out=out)
    seed(installation.engine, persons=2)  # work done after the backup

    refused = installation.cli("restore", str(out))
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert installation.scalar("SELECT count(*) FROM person") == 3  # untouched

    backups.restore(engine=installation.engine, archive=out, force=True)
    assert [p[0] for p in _dataset(installation.engine) if len(p) == 5] == ids
    assert verify(installation.engine).ok


def test_a_backup_is_consistent_while_the_service_writes(installation, tmp_path):
    """SQLite's online backup (or pg_dump's snapshot) gives a copy whose audit chain verifies."""
    seed(installation.engine, persons=1)
    out = tmp_path / "b.tar"
    with installation.engine.connect() as reader:  # a reader holding a snapshot does not block the backup
        reader.exec_driver_sql("SELECT count(*) FROM person").scalar()
        backups.create(engine=installation.engine, out=out)
    installation.wipe()
    backups.restore(engine=installation.engine, archive=out)
    assert verify(installation.engine).ok


def test_restore_checks_the_manifest_before_touching_anything(installation, tmp_path):
    seed(installation.engine, persons=1)
    out = tmp_path / "b.tar"
    manifest = backups.create(engine=installation.engine, out=out)

    def rewritten(**changes) -> os.PathLike:
        doc = json.loads(manifest.to_json()) | changes
        path = tmp_path / f"edited-{len(list(tmp_path.iterdir()))}.tar"
        with tarfile.open(out) as src, tarfile.open(path, "w") as dst:
            for member in src.getmembers():
                data = src.extractfile(member)
                if member.name == "manifest.json":
                    raw = json.dumps(doc).encode()
                    member.size = len(raw)
                    data = io.BytesIO(raw)
                dst.addfile(member, data)
        return path

    other = "postgresql" if installation.is_sqlite else "sqlite"
    cases = {
        "engine": (rewritten(engine=other), f"backup is of a {other} database"),
        "newer schema": (rewritten(schema_revision="9999_from_the_future"), "newer than this version"),
        "missing key": (rewritten(field_keys_used={"fgone0000": 3}), "fgone0000"),
        "damaged": (rewritten(sha256="0" * 64), "damaged"),
    }
    for name, (path, message) in cases.items():
        with pytest.raises(BackupError, match=message):
            backups.restore(engine=installation.engine, archive=path, force=True)
        assert installation.scalar("SELECT count(*) FROM person") == 1, name

    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    result = installation.cli("restore", str(not_a_backup))
    assert result.returncode == 1 and "not a Tone Lifeline backup" in result.stderr


def test_missing_or_old_postgresql_tools_get_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BackupError, match="pg_dump was not found on PATH.*postgresql-client"):
        dumps.tool_version("pg_dump")


def test_an_older_pg_dump_than_the_server_is_refused():
    if dumps.shutil.which("pg_dump") is None:
        pytest.skip("PostgreSQL client tools are not installed")
    _, major = dumps.tool_version("pg_dump")
    with pytest.raises(BackupError, match=f"pg_dump is version {major} but the server is {major + 1}"):
        dumps.check_tool("pg_dump", at_least=major + 1, what="the server")
