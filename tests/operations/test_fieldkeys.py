"""Field encryption keys: where the ring comes from, and ``lifeline keys rotate-fields``
(re-encrypt in batches, resumable, then retire an old key only when nothing uses it)."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr
from sqlmodel import Session, select

from app.core import crypto
from app.core.config import Settings
from app.core.crypto import FieldKeyRing, KeyRingError, KeySource
from app.operations import fieldkeys
from app.persons.models import ClinicalEntry, Person
from tests.operations.conftest import (
    ACP,
    ALLERGY,
    CONDITION,
    CONTACT_NOTE,
    HOUSEHOLD_NOTE,
    INSURANCE_NO,
    MEDICATION,
    WITHDRAWAL_REASON,
    seed,
)


def _source(installation, **settings) -> KeySource:
    return KeySource(Settings(data_dir=installation.data_dir, **settings))


def _raw_values(installation) -> list[str]:
    values = []
    with installation.engine.connect() as conn:
        for col in fieldkeys.encrypted_columns():
            values += [
                v
                for (v,) in conn.exec_driver_sql(
                    f'SELECT "{col.column}" FROM "{col.table}" WHERE "{col.column}" IS NOT NULL'
                )
            ]
    return values


def _plaintexts(installation, ring: FieldKeyRing) -> set[str]:
    return {ring.open(v) for v in _raw_values(installation)}


def test_the_ring_comes_from_the_environment_a_file_or_the_data_directory(tmp_path):
    ring = FieldKeyRing(active="fenv1", keys={"fenv1": b"\x01" * 32})
    other = FieldKeyRing(active="ffile1", keys={"ffile1": b"\x02" * 32})
    file = tmp_path / "ring.json"
    file.write_text(other.to_json())

    both = KeySource(Settings(data_dir=tmp_path, field_keys=SecretStr(ring.to_json()), field_keys_file=file))
    assert both.load() == ring and both.describe() == "LIFELINE_FIELD_KEYS" and not both.writable
    from_file = KeySource(Settings(data_dir=tmp_path, field_keys_file=file))
    assert from_file.load() == other and from_file.writable
    default = KeySource(Settings(data_dir=tmp_path / "fresh"))
    created = default.load()
    assert default.path == tmp_path / "fresh" / "keys" / "field-keys.json"
    assert oct(default.path.stat().st_mode & 0o777) == "0o600" and default.load() == created

    with pytest.raises(KeyRingError, match="does not exist"):  # a configured file is never invented
        KeySource(Settings(data_dir=tmp_path, field_keys_file=tmp_path / "typo.json")).load()
    for bad, message in (
        ("{not json", "not a field key ring"),
        (json.dumps({"active": "f1", "keys": {}}), "active key 'f1' is not among"),
        (json.dumps({"active": "f_1", "keys": {"f_1": "AQ" * 22}}), "letters and digits"),
    ):
        with pytest.raises(KeyRingError, match=message):
            KeySource(Settings(data_dir=tmp_path, field_keys=SecretStr(bad))).load()


def test_rotation_reencrypts_every_encrypted_column(installation):
    seed(installation.engine)
    source = _source(installation)
    old = source.load()
    before = _plaintexts(installation, old)
    assert {
        MEDICATION,
        CONDITION,
        ALLERGY,
        INSURANCE_NO,
        ACP,
        HOUSEHOLD_NOTE,
        CONTACT_NOTE,
        WITHDRAWAL_REASON,
    } <= before
    assert {"household.notes", "emergencycontact.note", "consent.withdrawal_reason"} <= set(
        map(str, fieldkeys.encrypted_columns())
    )

    result = installation.cli("keys", "rotate-fields", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    new = source.load()
    assert new.active != old.active and old.active in new.keys  # the old key still reads
    assert f"new active field key {new.active}" in result.stdout
    assert all(v.startswith(f"enc1:{new.active}:") for v in _raw_values(installation))
    assert _plaintexts(installation, FieldKeyRing(active=new.active, keys={new.active: new.keys[new.active]})) == before
    assert fieldkeys.keys_in_use(installation.engine) == {new.active: len(_raw_values(installation))}
    assert installation.scalar("SELECT count(*) FROM auditevent WHERE action = 'key.rotate_fields'") == 2


def test_an_interrupted_rotation_continues_where_it_stopped(installation):
    seed(installation.engine, persons=4)
    source = _source(installation)
    old = source.load()
    total = len(_raw_values(installation))

    first_batch = []

    def interrupt(progress):
        first_batch.append(progress.reencrypted)
        raise KeyboardInterrupt  # as if the operator pressed Ctrl-C after the first batch

    with pytest.raises(KeyboardInterrupt):
        fieldkeys.rotate(installation.engine, source, batch_size=3, progress=interrupt)
    new = source.load()
    assert new.active != old.active
    (done,) = first_batch  # at most 3: the first column may hold fewer values (one household's notes)
    halfway = fieldkeys.keys_in_use(installation.engine)
    assert 0 < done <= 3 and halfway[new.active] == done and halfway[old.active] == total - done

    report = fieldkeys.rotate(installation.engine, source, batch_size=3)  # run again
    assert not report.new_key and report.active == new.active  # no third key: it continued
    assert sum(report.reencrypted.values()) == total - done  # the first batch was skipped by its prefix
    assert report.complete and report.remaining == {new.active: total}

    again = fieldkeys.rotate(installation.engine, source)  # a finished rotation: asked again, a new key
    assert again.new_key and again.remaining == {again.active: total}


def test_the_running_service_follows_a_rotation(installation, monkeypatch):
    """Workers re-read the ring file when it changes: values sealed with the new key open at once."""
    ids = seed(installation.engine, persons=1)["person_ids"]
    monkeypatch.setattr(crypto, "get_settings", lambda: Settings(data_dir=installation.data_dir))
    monkeypatch.setattr(crypto, "_source", None)
    before = crypto.field_keyring().active

    assert installation.cli("keys", "rotate-fields").returncode == 0
    with Session(installation.engine) as session:
        person = session.get(Person, ids[0])
        texts = set(session.exec(select(ClinicalEntry.text).where(ClinicalEntry.person_id == ids[0])))
    assert crypto.field_keyring().active != before
    assert person.acp_notes == ACP and {MEDICATION, CONDITION, ALLERGY} <= texts


def test_retire_only_a_key_nothing_uses(installation):
    seed(installation.engine, persons=1)
    source = _source(installation)
    old = source.load()
    source.save(old.with_new_key())  # a rotation that has not re-encrypted anything yet
    new = source.load()

    in_use = fieldkeys.retire(installation.engine, source, old.active)
    assert in_use[old.active] > 0 and old.active in source.load().keys  # refused: values still use it
    refused = installation.cli("keys", "rotate-fields", "--retire", new.active)
    assert refused.returncode == 1 and "is the active key" in refused.stderr

    done = installation.cli("keys", "rotate-fields", "--retire", old.active)  # moves what is left, then retires
    assert done.returncode == 0, done.stderr
    assert f"retired {old.active}" in done.stdout and "Backups made while" in done.stdout
    assert set(source.load().keys) == {new.active}
    assert _plaintexts(installation, source.load()) >= {MEDICATION, ACP}


def test_keys_from_the_environment_rotate_in_two_steps(installation):
    """The command cannot edit an environment variable: it prints the new ring, the operator installs it."""
    seed(installation.engine, persons=1)
    ring = _source(installation).load().to_json()

    refused = installation.cli("keys", "rotate-fields", LIFELINE_FIELD_KEYS=ring)
    assert refused.returncode == 1 and "--print-new-ring" in refused.stderr
    printed = installation.cli("keys", "rotate-fields", "--print-new-ring", LIFELINE_FIELD_KEYS=ring)
    new = FieldKeyRing.from_json(printed.stdout, origin="test")
    assert set(FieldKeyRing.from_json(ring, origin="test").keys) < set(new.keys)

    moved = installation.cli("keys", "rotate-fields", LIFELINE_FIELD_KEYS=new.to_json())
    assert moved.returncode == 0, moved.stderr
    assert "continued the unfinished rotation" in moved.stdout
    assert fieldkeys.keys_in_use(installation.engine).keys() == {new.active}
