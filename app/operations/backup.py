"""``lifeline backup`` / ``lifeline restore``: one tar file holding a manifest and the dump.

The file holds the database only. Medical fields and insurance numbers in it are ciphertext;
the keys that open them (and the card-signing and audit keys) are deliberately NOT in it, so a
lost backup tape is not a readable register: keys are backed up separately
(docs/operations.md). Names, addresses and phone numbers are plaintext, so a backup is still
personal data to be kept as carefully as the server.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from app import bootstrap
from app.core import db
from app.core.crypto import field_keyring
from app.operations import dumps
from app.operations.dumps import BackupError
from app.operations.fieldkeys import keys_in_use

FORMAT = "tone-lifeline-backup/1"
MANIFEST = "manifest.json"
DUMP = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
KEYS_NOTE = (
    "This backup does NOT contain the field encryption keys, the card-signing keys or the audit "
    "checkpoint keys. Without the field key ring it cannot be read: back up LIFELINE_DATA_DIR/keys "
    "(or your LIFELINE_FIELD_KEYS secret) separately and keep it apart from the backups."
)
# Tables whose rows make a database "in use": restoring over them needs --force. (The region's
# institutions are seeded by every start, so a freshly installed server still counts as empty.)
DATA_TABLES = ("household", "person", "user", "auditevent")


def app_version() -> str:
    try:
        return version("tone-lifeline")
    except PackageNotFoundError:
        return "unknown"


def schema_revision(bind) -> str | None:
    with bind.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _known_revision(revision: str | None) -> bool:
    if revision is None:
        return True
    try:
        return ScriptDirectory.from_config(db.alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


@dataclass
class Manifest:
    engine: str
    schema_revision: str | None
    app_version: str
    created_at: str
    sha256: str
    size: int
    field_keys_used: dict[str, int]
    server_version: str = ""
    dump_tool: str = ""
    dump_tool_major: int = 0

    def to_json(self) -> bytes:
        doc = {
            "format": FORMAT,
            **self.__dict__,
            "database_file": DUMP[self.engine],
            "contains_keys": False,
            "note": KEYS_NOTE,
        }
        return json.dumps(doc, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            doc = json.loads(raw)
        except ValueError:
            raise BackupError("the backup's manifest is not JSON: not a Tone Lifeline backup, or damaged") from None
        if doc.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {doc.get('format')!r} (this version reads {FORMAT})")
        return cls(**{name: doc[name] for name in cls.__dataclass_fields__ if name in doc})


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def create(*, engine: Engine, out: Path) -> Manifest:
    """Write a backup of ``engine``'s database to ``out``; the file appears only when complete."""
    out = out.resolve()
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".lifeline-backup-") as tmp:
        dump = Path(tmp) / DUMP[engine.dialect.name]
        extra = {}
        if engine.dialect.name == "sqlite":
            dumps.sqlite_copy_out(engine, dump)
            copy = create_engine(f"sqlite:///{dump}")
            try:  # describe the copy itself, not the live database that kept changing
                revision, used = schema_revision(copy), keys_in_use(copy)
            finally:
                copy.dispose()
        else:
            revision, used = schema_revision(engine), keys_in_use(engine)
            line = dumps.pg_dump(engine, dump)
            extra = {
                "server_version": dumps.server_version(engine)[0],
                "dump_tool": line,
                "dump_tool_major": dumps.tool_version("pg_dump")[1],
            }
        manifest = Manifest(
            engine=engine.dialect.name,
            schema_revision=revision,
            app_version=app_version(),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            sha256=_sha256(dump),
            size=dump.stat().st_size,
            field_keys_used=dict(used),
            **extra,
        )
        partial = Path(tmp) / "backup.tar"
        partial.touch(mode=0o600)  # personal data: readable by the service account only
        with tarfile.open(partial, "w") as tar:
            info = tarfile.TarInfo(MANIFEST)
            raw = manifest.to_json()
            info.size, info.mode, info.mtime = len(raw), 0o600, int(datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(raw))
            tar.add(dump, arcname=DUMP[manifest.engine])
        os.replace(partial, out)
    return manifest


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive, "r:") as tar:
            member = tar.extractfile(MANIFEST)
            return Manifest.from_json(member.read())
    except (tarfile.TarError, KeyError, AttributeError):
        raise BackupError(f"{archive} is not a Tone Lifeline backup (no {MANIFEST} in a tar file)") from None


def holds_data(engine: Engine) -> bool:
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return any(
            conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() for name in DATA_TABLES if name in present
        )


def check(*, engine: Engine, manifest: Manifest) -> None:
    """Refuse a backup this installation cannot restore, before anything is touched."""
    if manifest.engine != engine.dialect.name:
        raise BackupError(
            f"the backup is of a {manifest.engine} database, LIFELINE_DATABASE_URL points at "
            f"{engine.dialect.name}; restore into the same engine (or migrate the data yourself)"
        )
    if not _known_revision(manifest.schema_revision):
        raise BackupError(
            f"the backup's schema revision {manifest.schema_revision!r} is newer than this version "
            f"({app_version()}) knows; install the version that made it ({manifest.app_version}) or newer"
        )
    missing = sorted(set(manifest.field_keys_used) - set(field_keyring().keys) - {"?"})
    if missing:
        raise BackupError(
            f"the key ring lacks field key(s) {', '.join(missing)} that this backup's values are sealed "
            f"with; put the key ring saved with the backup in place first (docs/operations.md, Keys)"
        )


def restore(*, engine: Engine, archive: Path, force: bool = False) -> Manifest:
    """Replace the database with the backup's, then migrate it to this version's schema."""
    manifest = read_manifest(archive)
    check(engine=engine, manifest=manifest)
    if holds_data(engine) and not force:
        raise BackupError(
            "the database already holds data (households, persons, users or audit records); "
            "pass --force to replace it with the backup"
        )
    with tempfile.TemporaryDirectory(prefix="lifeline-restore-") as tmp:
        dump = Path(tmp) / DUMP[manifest.engine]
        with tarfile.open(archive, "r:") as tar:
            member = tar.extractfile(DUMP[manifest.engine])
            if member is None:
                raise BackupError(f"{archive} lacks {DUMP[manifest.engine]}")
            with open(os.open(dump, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as fh:
                while chunk := member.read(1 << 20):
                    fh.write(chunk)
        if _sha256(dump) != manifest.sha256:
            raise BackupError(f"{archive} is damaged: the database copy does not match the manifest's SHA-256")
        if manifest.engine == "sqlite":
            dumps.sqlite_copy_in(engine, dump)
        else:
            dumps.pg_restore(engine, dump, dump_major=manifest.dump_tool_major)
    bootstrap.prepare_database(engine)
    return manifest
