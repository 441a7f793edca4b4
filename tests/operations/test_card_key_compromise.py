"""After a card-signing key may have leaked (docs/operations.md §10): rotate, reissue every card the
old key signed, print them, retire the old key; each step refused out of order, each one audited.
And after the upgrade to the low-s rule (docs/operations.md §7): the cards whose stored signature is
high-s are reported and replaced the same way. Run with the ``lifeline`` command against a committed
database, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import time

from sqlalchemy import text
from sqlmodel import Session

from app import bootstrap
from app.cards import service as cards
from app.cards.cose import P256_ORDER
from app.cards.credential import Status, verify
from app.cards.keystore import KeyStore
from app.cards.qr import cose_from_qr, qr_segments, segments_text
from app.persons.models import Person
from card_printing import qr
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


def _make_high_s(installation, person_id: int) -> None:
    """Store the person's card as the issuer wrote it before the low-s rule about half the time: s replaced by
    n − s, in its QR text and in the QR symbol kept for printing."""
    with Session(installation.engine) as session:
        card = cards.current(session=session, person_id=person_id)
        cose = cose_from_qr(card.qr_text)
        high = cose[:-32] + (P256_ORDER - int.from_bytes(cose[-32:], "big")).to_bytes(32, "big")
        segments = qr_segments(high, base_url=card.qr_text.split("/C/", 1)[0])
        card.qr_text = segments_text(segments)
        card.qr_symbol = qr.to_bytes(qr.encode(segments), text=card.qr_text)
        session.add(card)
        session.commit()


def test_cards_signed_high_s_before_the_low_s_rule_are_reported_and_replaced(installation, tmp_path, caplog):
    ids = seed(installation.engine, persons=3)
    with Session(installation.engine) as session:
        make = Factories(session)
        for person_id in ids["person_ids"][:2]:
            make.consent(session.get(Person, person_id))
    assert installation.cli("print", "cards", "--all", "--out", str(tmp_path / "first.pdf")).returncode == 0
    high, low = ids["person_ids"][:2]
    _make_high_s(installation, high)
    keys = KeyStore(installation.data_dir / "keys" / "card").verification_keys()
    now = int(time.time())
    before = {c[0]: c for c in _cards(installation)}
    assert verify(before[high][6], keys=keys, revocations=None, now=now).status is Status.FORGED  # as the crew sees it

    # The operator is told: by `keys list`, and at every start (`lifeline serve`, `lifeline db upgrade`).
    advice = "1 active cards have a high-s signature"
    listed = installation.cli("keys", "list")
    assert listed.returncode == 0 and advice in listed.stdout and "keys reissue-cards --high-s" in listed.stdout
    upgraded = installation.cli("db", "upgrade")
    assert upgraded.returncode == 0 and advice in upgraded.stderr and "reissue-cards --high-s" in upgraded.stderr
    with caplog.at_level(logging.WARNING):
        bootstrap.prepare_database(installation.engine)
    [warning] = [r for r in caplog.records if "high-s" in r.getMessage()]
    assert warning.levelno == logging.WARNING and advice in warning.getMessage()

    for wrong in ([], ["--high-s", "--kid", before[high][3]]):  # exactly one of the two
        refused = installation.cli("keys", "reissue-cards", *wrong)
        assert refused.returncode == 1 and "--kid" in refused.stderr and "--high-s" in refused.stderr
    reissued = installation.cli("keys", "reissue-cards", "--high-s")
    assert reissued.returncode == 0 and "1 cards with a high-s signature reissued" in reissued.stdout, reissued.stderr
    assert "print cards --pending" in reissued.stdout

    after = _cards(installation)
    assert [c for c in after if c[0] == low] == [before[low]]  # a low-s card is left alone
    old, new = [c for c in after if c[0] == high]
    assert (old[1], old[2], old[4]) == (1, "superseded", "other")
    assert (new[1], new[2], new[5]) == (2, "active", False)  # serial + 1, waiting to be printed
    assert int.from_bytes(cose_from_qr(new[6])[-32:], "big") <= P256_ORDER // 2
    assert verify(new[6], keys=keys, revocations=None, now=now).status is Status.GENUINE

    again = installation.cli("keys", "reissue-cards", "--high-s")
    assert again.returncode == 0 and "0 cards" in again.stdout
    assert "high-s" not in installation.cli("keys", "list").stdout
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        bootstrap.prepare_database(installation.engine)
    assert not [r for r in caplog.records if "high-s" in r.getMessage()]
    reprint = installation.cli("print", "cards", "--pending", "--out", str(tmp_path / "new.pdf"))
    assert reprint.returncode == 0, reprint.stderr
    assert all(c[5] for c in _cards(installation) if c[2] == "active")

    with installation.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT fields, purpose, outcome FROM auditevent WHERE action = 'card.reissue_all' ORDER BY seq")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("cards with a high-s signature", "", "requested"),
        ("cards with a high-s signature", "1 cards reissued", "ok"),
        ("cards with a high-s signature", "", "requested"),
        ("cards with a high-s signature", "0 cards reissued", "ok"),
    ]
    assert installation.cli("audit", "verify").returncode == 0
