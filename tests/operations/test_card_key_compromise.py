"""After a card-signing key may have leaked (docs/operations.md §10): rotate, reissue every card the
old key signed, print them, retire the old key; each step refused out of order, each one audited.
Run with the ``lifeline`` command against a committed database, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlmodel import Session

from app.cards.credential import Status, verify
from app.cards.keystore import KeyStore
from app.persons.models import Person
from tests.factories import Factories
from tests.operations.conftest import seed


def _cards(installation) -> list[tuple]:
    with installation.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT person_id, serial, status, kid, revoke_reason, printed_at IS NOT NULL, qr_text "
                "FROM card ORDER BY person_id, serial"
            )
        ).all()


def test_a_leaked_card_key_is_replaced_card_by_card_then_retired(installation, tmp_path):
    ids = seed(installation.engine, persons=3)
    with Session(installation.engine) as session:  # consent on record for two of them: they get cards
        make = Factories(session)
        for person_id in ids["person_ids"][:2]:
            make.consent(session.get(Person, person_id))
    printed = installation.cli("print", "cards", "--all", "--out", str(tmp_path / "first.pdf"))
    assert printed.returncode == 0, printed.stderr
    before = _cards(installation)
    assert len(before) == 2 and {c[2] for c in before} == {"active"}
    old_kid = before[0][3]

    # Out of order: the key still signs, so neither reissuing nor retiring makes sense yet.
    refused = installation.cli("keys", "reissue-cards", "--kid", old_kid)
    assert refused.returncode == 1 and "rotate" in refused.stderr
    refused = installation.cli("keys", "retire", "--kid", old_kid)
    assert refused.returncode == 1 and "is the signing key" in refused.stderr
    assert installation.cli("keys", "retire", "--kid", "nokey").returncode == 1

    assert installation.cli("keys", "rotate").returncode == 0
    refused = installation.cli("keys", "retire", "--kid", old_kid)
    assert refused.returncode == 1 and "2 active cards are signed by" in refused.stderr

    reissued = installation.cli("keys", "reissue-cards", "--kid", old_kid)
    assert reissued.returncode == 0 and f"2 cards signed by {old_kid} reissued" in reissued.stdout, reissued.stderr
    after = _cards(installation)
    old, new = [c for c in after if c[2] != "active"], [c for c in after if c[2] == "active"]
    assert [(c[2], c[4]) for c in old] == [("superseded", "key_compromised")] * 2
    assert len(new) == 2 and all(c[3] != old_kid and not c[5] for c in new)  # new key, not printed yet
    assert sorted((c[0], c[1]) for c in new) == sorted((c[0], c[1] + 1) for c in old)
    again = installation.cli("keys", "reissue-cards", "--kid", old_kid)  # nothing left: harmless
    assert again.returncode == 0 and "0 cards" in again.stdout

    reprint = installation.cli("print", "cards", "--pending", "--out", str(tmp_path / "new.pdf"))
    assert reprint.returncode == 0, reprint.stderr
    assert all(c[5] for c in _cards(installation) if c[2] == "active")

    retired = installation.cli("keys", "retire", "--kid", old_kid)
    assert retired.returncode == 0, retired.stderr
    assert "verifies until 20" in next(
        line for line in installation.cli("keys", "list").stdout.splitlines() if line.startswith(old_kid)
    )
    # Even a verifier without the revocation list (offline, not yet updated) now refuses the old cards.
    keys = KeyStore(installation.data_dir / "keys" / "card").verification_keys()
    now = int(time.time()) + 1
    assert {verify(c[6], keys=keys, revocations=None, now=now).status for c in old} == {Status.EXPIRED}
    assert {verify(c[6], keys=keys, revocations=None, now=now).status for c in new} == {Status.GENUINE}

    with installation.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT action, outcome FROM auditevent WHERE action IN ('card.reissue_all', 'key.retire') ORDER BY seq"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("card.reissue_all", "requested"),
        ("card.reissue_all", "requested"),
        ("card.reissue_all", "ok"),
        ("card.reissue_all", "requested"),
        ("card.reissue_all", "ok"),
        ("key.retire", "requested"),
        ("key.retire", "ok"),
    ]
    assert installation.cli("audit", "verify").returncode == 0
