"""No medication, condition, allergy, ACP or insurance text, nor the free text beside them (household
memo, emergency-contact note, reason for withdrawing consent), in plaintext: neither in the database
file (nor its write-ahead log) nor in a backup. Grepped in the raw bytes, in every encoding the
text could plausibly be stored in; the person's name, plaintext by design (staff search it), is
the control that proves the grep would have found a plaintext value."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import text

from app import bootstrap
from app.operations import backup as backups
from tests.committing_database import engine_for
from tests.conftest import IS_POSTGRES
from tests.operations.conftest import (
    ACP,
    ALLERGY,
    CONDITION,
    CONTACT_NOTE,
    FAMILY_NAME,
    HOUSEHOLD_NOTE,
    INSURANCE_NO,
    INSURANCE_SYMBOL,
    MEDICATION,
    WITHDRAWAL_REASON,
    Installation,
    seed,
)

# The 8-digit 保険者番号 is left out of the grep: any 8 digits occur by chance in a few kilobytes of
# base64 ciphertext now and then. The 記号 and 番号 beside it carry letters and are grepped.
GREPPED = (
    MEDICATION,
    CONDITION,
    ALLERGY,
    ACP,
    INSURANCE_SYMBOL,
    INSURANCE_NO,
    HOUSEHOLD_NOTE,
    CONTACT_NOTE,
    WITHDRAWAL_REASON,
)


def _encodings(value: str) -> list[bytes]:
    out = [value.encode("utf-8"), value.encode("utf-16-le"), value.encode("utf-16-be")]
    try:
        out.append(value.encode("cp932"))
    except UnicodeEncodeError:
        pass
    return out


def assert_no_plaintext(blob: bytes, where: str) -> None:
    found = [value for value in GREPPED if any(encoded in blob for encoded in _encodings(value))]
    assert not found, f"plaintext in {where}: {found}"
    assert FAMILY_NAME.encode("utf-8") in blob, f"the control (a name) is not in {where}: the grep proves nothing"


@pytest.fixture
def sqlite_installation(tmp_path, installation):
    """An SQLite database, also when the suite runs on PostgreSQL (the file is what we grep)."""
    if installation.is_sqlite:
        yield installation
        return
    engine = engine_for(f"sqlite:///{tmp_path / 'file.sqlite3'}", installation.data_dir)
    bootstrap.prepare_database(engine)
    yield Installation(url=str(engine.url), data_dir=installation.data_dir, engine=engine)
    engine.dispose()


def test_the_sqlite_file_and_its_wal_hold_no_medical_or_insurance_text(sqlite_installation, tmp_path):
    engine = sqlite_installation.engine
    seed(engine)
    path = Path(engine.url.database)
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0  # the rows just written are (at least partly) in the log
    wal_bytes = wal.read_bytes()
    found = [value for value in GREPPED if any(e in wal_bytes for e in _encodings(value))]
    assert not found, f"plaintext in the -wal file: {found}"

    with engine.connect() as conn:
        busy, _, _ = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    assert busy == 0
    assert_no_plaintext(path.read_bytes(), "the database file")

    out = tmp_path / "backup.tar"
    backups.create(engine=engine, out=out)
    assert_no_plaintext(out.read_bytes(), "the SQLite backup")


@pytest.mark.skipif(not IS_POSTGRES, reason="pg_dump output needs the suite to run on PostgreSQL")
def test_a_pg_dump_backup_holds_no_medical_or_insurance_text(installation, tmp_path):
    seed(installation.engine)
    out = tmp_path / "backup.tar"
    backups.create(engine=installation.engine, out=out)
    with tarfile.open(out) as tar:
        tar.extract(backups.DUMP["postgresql"], tmp_path, filter="data")
    dump = tmp_path / backups.DUMP["postgresql"]
    # pg_dump's custom format compresses table data, so grepping it raw would prove nothing:
    # pg_restore turns it back into the plain SQL script, which holds every row as text.
    script = subprocess.run(["pg_restore", "--file=-", str(dump)], capture_output=True, check=True).stdout
    assert_no_plaintext(script, "the pg_dump backup (as SQL)")
    found = [value for value in GREPPED if any(e in out.read_bytes() for e in _encodings(value))]
    assert not found
