"""Card verifications per second on one core: the full path (QR text, CBOR, ECDSA P-256).

    .venv/bin/python benchmarks/verify.py [SECONDS]

Keys are imported once into a KeySet, as the server does per JWKS version; the revocation
list holds 10,000 entries so its lookup is part of the figure. Target: >= 10,000/s.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from app.cards.credential import CardClaims, Status, issue_credential, new_card_id, verify
from app.cards.keystore import KeyStore
from app.cards.revocation import RevocationEntry, build_revocation_document, verify_revocation_document

TARGET_PER_SECOND = 10_000


def main(seconds: float) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the figure claims
    with tempfile.TemporaryDirectory() as directory:
        store = KeyStore(Path(directory) / "card")
        store.ensure_active()
        store.rotate()  # two published keys, as after a rotation
        now = int(time.time())
        card = issue_credential(
            claims=CardClaims(card_id=new_card_id(), serial=2, issued_at=now),
            signer=store.signing_key(),
            base_url="https://lifeline.city.kazo.saitama.jp",
        )
        keys = store.verification_keys()
        entries = [RevocationEntry(card_id=new_card_id(), serial=1, reason="cancelled") for _ in range(10_000)]
        revocations = verify_revocation_document(
            build_revocation_document(entries=entries, version=1, keystore=store), keys
        )
    assert verify(card.text, keys=keys, revocations=revocations, now=now).status is Status.GENUINE

    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            verify(card.text, keys=keys, revocations=revocations, now=now)
        count += 100
    rate = count / (time.perf_counter() - started)
    verdict = "meets" if rate >= TARGET_PER_SECOND else "BELOW"
    print(
        f"{rate:,.0f} verifications/s on one core "
        f"({count:,} in {seconds:g} s; {verdict} the {TARGET_PER_SECOND:,}/s target)"
    )


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
