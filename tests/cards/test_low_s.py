"""One valid encoding per signature: verifiers refuse high-s ES256 signatures, the issuer emits only low-s.

ECDSA signatures are malleable: if (r, s) verifies, so does (r, n − s). Without a rule, every
genuine card would have a second, different QR text (its "twin") that also verifies, contrary
to docs/card-format.md ("exactly one valid byte string"). The rule (as in Bitcoin's BIP 62 and
many JOSE/COSE profiles): s ≤ (n − 1) / 2, and 1 ≤ r, s < n.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cards import service as cards
from app.cards.cose import es256_sign, es256_verify
from app.cards.credential import CardClaims, Status, issue_credential, new_card_id, verify
from app.cards.errors import InvalidRevocationDocument
from app.cards.keyset import b64url_decode, b64url_encode
from app.cards.keystore import KeyStore
from app.cards.revocation import RevocationEntry, build_revocation_document, verify_revocation_document
from tests.cards.helpers import CREDENTIALS, DOCUMENTS, FIELDS, run_node
from tests.ems.helpers import device_login
from tests.factories import FACTORY_ACTOR

# The order of the P-256 group (FIPS 186-4 D.1.2.3, SEC 2 §2.4.2).
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
HALF_N = N // 2  # (n − 1) / 2: the largest s a verifier accepts
NOW = 1767571200
BASE_URL = "https://lifeline.city.kazo.saitama.jp"


def split(signature: bytes) -> tuple[int, int]:
    return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")


def joined(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def twin(signature: bytes) -> bytes:
    """The other encoding of the same ECDSA signature: (r, n − s)."""
    r, s = split(signature)
    return joined(r, N - s)


def cose_of(qr_text: str) -> bytes:
    digits = int(qr_text.upper().split("/C/", 1)[1])
    return digits.to_bytes((digits.bit_length() + 7) // 8, "big")


def with_signature(qr_text: str, signature: bytes) -> str:
    """The same QR text with the credential's 64 signature bytes (its last bytes) replaced."""
    prefix = qr_text.upper().split("/C/", 1)[0] + "/C/"
    cose = cose_of(qr_text)
    return prefix + str(int.from_bytes(cose[:-64] + signature, "big"))


def signature_of(qr_text: str) -> bytes:
    return cose_of(qr_text)[-64:]


@pytest.fixture
def keystore(tmp_path) -> KeyStore:
    store = KeyStore(tmp_path / "keys" / "card")
    store.ensure_active(now=NOW - 86400)
    return store


def _issue(keystore: KeyStore) -> str:
    claims = CardClaims(card_id=new_card_id(), serial=1, issued_at=NOW - 3600)
    return issue_credential(claims=claims, signer=keystore.signing_key(), base_url=BASE_URL).text


def _check(text: str, keystore: KeyStore):
    return verify(text, keys=keystore.verification_keys(), revocations=None, now=NOW)


# --- the verifiers --------------------------------------------------------------------------


def test_python_verifier_refuses_the_n_minus_s_twin_of_an_issued_card(keystore):
    for _ in range(8):
        text = _issue(keystore)
        assert _check(text, keystore).status is Status.GENUINE
        twin_text = with_signature(text, twin(signature_of(text)))
        assert twin_text != text
        result = _check(twin_text, keystore)
        assert result.status is Status.FORGED and result.claims is None
        assert result.kid == keystore.active().kid


def test_of_the_two_encodings_only_the_low_s_one_verifies(keystore):
    """Independent of how the issuer signs: whichever of s and n − s is larger is refused."""
    for _ in range(8):
        text = _issue(keystore)
        r, s = split(signature_of(text))
        low, high = sorted((s, N - s))
        assert _check(with_signature(text, joined(r, low)), keystore).status is Status.GENUINE
        assert _check(with_signature(text, joined(r, high)), keystore).status is Status.FORGED


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda r, s: (0, s), id="r=0"),
        pytest.param(lambda r, s: (r, 0), id="s=0"),
        pytest.param(lambda r, s: (N, s), id="r=n"),
        pytest.param(lambda r, s: (r, N), id="s=n"),
        pytest.param(lambda r, s: (2**256 - 1, s), id="r=2^256-1"),
        pytest.param(lambda r, s: (r, 2**256 - 1), id="s=2^256-1"),
        pytest.param(lambda r, s: (r, HALF_N + 1), id="s=(n+1)/2"),
    ],
)
def test_out_of_range_r_or_s_is_forged(keystore, edit):
    text = _issue(keystore)
    result = _check(with_signature(text, joined(*edit(*split(signature_of(text))))), keystore)
    assert result.status is Status.FORGED and result.claims is None


def test_es256_verify_applies_the_rule_itself(keystore):
    """Every ES256 check of the project goes through es256_verify, so the rule lives there."""
    key = keystore.signing_key()
    public = keystore.active().public_key
    message = b"tone lifeline"
    signature = key.sign(message)
    r, s = split(signature)
    assert s <= HALF_N and es256_verify(public, signature, message)
    assert not es256_verify(public, joined(r, N - s), message)
    assert not es256_verify(public, joined(0, s), message) and not es256_verify(public, joined(r, 0), message)


def _revocation_document(keystore: KeyStore) -> dict:
    entries = [RevocationEntry(card_id=new_card_id(), serial=1, reason="cancelled")]
    return build_revocation_document(entries=entries, version=7, keystore=keystore, issued_at=NOW)


def test_revocation_document_with_the_high_s_twin_is_invalid(keystore):
    keys = keystore.verification_keys()
    for _ in range(8):
        doc = _revocation_document(keystore)
        assert verify_revocation_document(doc, keys).version == 7
        high = {**doc, "signature": b64url_encode(twin(b64url_decode(doc["signature"])))}
        with pytest.raises(InvalidRevocationDocument) as refused:
            verify_revocation_document(high, keys)
        assert refused.value.reason == "signature"


@pytest.mark.parametrize(
    "edit", [lambda r, s: (0, s), lambda r, s: (r, 0), lambda r, s: (r, N)], ids=["r=0", "s=0", "s=n"]
)
def test_revocation_document_with_r_or_s_out_of_range_is_invalid(keystore, edit):
    doc = _revocation_document(keystore)
    bad = {**doc, "signature": b64url_encode(joined(*edit(*split(b64url_decode(doc["signature"])))))}
    with pytest.raises(InvalidRevocationDocument):
        verify_revocation_document(bad, keystore.verification_keys())


# --- the issuer -----------------------------------------------------------------------------


def test_the_issuer_only_emits_low_s(keystore):
    signer = keystore.signing_key()
    signatures = [signer.sign(f"message {i}".encode()) for i in range(200)]
    assert all(1 <= split(sig)[1] <= HALF_N for sig in signatures)
    assert len({split(sig)[0] for sig in signatures}) == 200  # random nonces, so 200 independent draws


@pytest.mark.parametrize("deterministic", [False, True])
def test_es256_sign_normalises_s(keystore, deterministic):
    private_key = keystore.signing_key()._private_key
    public = keystore.active().public_key
    for i in range(200):
        message = f"card {i}".encode()
        signature = es256_sign(private_key, message, deterministic=deterministic)
        assert len(signature) == 64 and 1 <= split(signature)[1] <= HALF_N
        assert es256_verify(public, signature, message)


def test_issued_cards_and_revocation_lists_are_low_s(keystore):
    for _ in range(50):
        assert split(signature_of(_issue(keystore)))[1] <= HALF_N
        assert split(b64url_decode(_revocation_document(keystore)["signature"]))[1] <= HALF_N


# --- the browser verifier (ems_pwa/js/credential.js) on fresh twins ---------------------------


def test_js_verifier_refuses_twins_of_fresh_cards(keystore, tmp_path):
    """Beyond the committed vectors: twins of newly signed cards, and each range violation, in Node."""
    jwks = keystore.public_jwks()
    empty = _revocation_document_with(keystore, entries=[])
    vectors = []
    kid = b64url_encode(keystore.active().kid)
    refused = dict.fromkeys(FIELDS, None) | {"status": "forged", "kid": kid, "newerCardExists": False}
    for i in range(20):
        text = _issue(keystore)
        r, s = split(signature_of(text))
        result = _check(text, keystore).as_dict()
        vectors.append(_vector(f"fresh card {i}", text, {name: result[name] for name in FIELDS}))
        vectors.append(_vector(f"fresh card {i}, twin (r, n - s)", with_signature(text, joined(r, N - s)), refused))
    text = _issue(keystore)
    r, s = split(signature_of(text))
    for label, (r2, s2) in {"r=0": (0, s), "s=0": (r, 0), "r=n": (N, s), "s=n": (r, N)}.items():
        vectors.append(_vector(label, with_signature(text, joined(r2, s2)), refused))
    doc = _revocation_document(keystore)
    high_doc = {**doc, "signature": b64url_encode(twin(b64url_decode(doc["signature"])))}
    (tmp_path / "fresh.json").write_text(
        json.dumps({"keys": jwks, "revocations": empty, "vectors": vectors}), encoding="utf-8"
    )
    (tmp_path / "fresh-documents.json").write_text(
        json.dumps(
            {
                "keys": jwks,
                "documents": [
                    {
                        "description": "valid",
                        "document": doc,
                        "expected": {"status": "valid", "version": 7, "issuedAt": NOW, "entries": 1},
                    },
                    {"description": "high-s twin", "document": high_doc, "expected": {"status": "invalid"}},
                ],
            }
        ),
        encoding="utf-8",
    )
    report = run_node(tmp_path)
    assert [r for r in report["files"]["fresh.json"] if not r["ok"]] == []
    assert [r for r in report["files"]["fresh-documents.json"] if not r["ok"]] == []
    assert len(report["files"]["fresh.json"]) == len(vectors)


def _vector(description: str, qr_text: str, expected: dict) -> dict:
    return {"description": description, "qr": qr_text, "now": NOW, "expected": expected}


def _revocation_document_with(keystore: KeyStore, *, entries: list) -> dict:
    return build_revocation_document(entries=entries, version=1, keystore=keystore, issued_at=NOW)


def test_committed_vectors_include_the_high_s_twins():
    """Both verifiers run these (test_vectors.py, test_js_verifier.py); a twin is refused like a forgery."""
    twins = [v for v in CREDENTIALS["vectors"] if v["description"].startswith("signature: high-s twin")]
    assert len(twins) >= 2 and all(v["expected"]["status"] == "forged" for v in twins)
    valid = CREDENTIALS["vectors"][0]
    assert valid["expected"]["status"] == "genuine"
    assert twins[0]["qr"] == with_signature(valid["qr"], twin(signature_of(valid["qr"])))
    documents = [d for d in DOCUMENTS["documents"] if d["description"].startswith("signature: high-s twin")]
    assert len(documents) >= 1 and all(d["expected"] == {"status": "invalid"} for d in documents)
    for vector in CREDENTIALS["vectors"]:
        if vector["expected"]["status"] != "malformed" and vector["expected"]["cardId"] is not None:
            assert split(signature_of(vector["qr"]))[1] <= HALF_N, vector["description"]


# --- the server: POST /api/v1/scans and GET /C/<digits> -----------------------------------------


@pytest.fixture
def issued_card(personas, make, db):
    make.consent(personas.patient)
    make.entry(personas.patient, text="ワルファリン錠1mg", is_anticoagulant=True)
    return cards.issue(session=db, actor=FACTORY_ACTOR, person_id=personas.patient.id)


def _last_audit(db):
    return db.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


def test_scan_of_the_twin_is_forged_with_no_summary(issued_card, login, personas, db):
    paramedic = device_login(login, db)(personas.paramedic)
    text = issued_card.qr_text
    genuine = paramedic.post("/api/v1/scans", json={"qr": text, "incident": "R8-1"}).json()
    assert genuine["status"] == "genuine" and genuine["summary"] is not None
    twin_text = with_signature(text, twin(signature_of(text)))
    r = paramedic.post("/api/v1/scans", json={"qr": twin_text, "incident": "R8-1"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "forged" and body["summary"] is None
    assert body["message"] == "偽造の疑い：署名が一致しません"
    event = _last_audit(db)
    assert event.action == "scan.verify" and event.outcome == "forged" and event.person_id is None


def test_public_card_page_of_the_twin_does_not_say_genuine(issued_card, client):
    path = issued_card.qr_text.split("127.0.0.1:8000", 1)[1]
    assert "本物のカードです" in client.get(path).text
    twin_text = with_signature(issued_card.qr_text, twin(signature_of(issued_card.qr_text)))
    page = client.get("/C/" + twin_text.rsplit("/", 1)[1])
    assert page.status_code == 200
    assert "本物のカードです" not in page.text
    assert "偽造の疑い" in page.text


def test_server_keystore_signatures_are_low_s(issued_card):
    """The keystore the app uses (cards.keystore()) signs low-s too, and revocation lists with it."""
    store = cards.keystore()
    signer = store.signing_key()
    assert all(split(signer.sign(f"m{i}".encode()))[1] <= HALF_N for i in range(200))
    assert split(signature_of(issued_card.qr_text))[1] <= HALF_N
    now = int(time.time())
    doc = build_revocation_document(entries=[], version=1, keystore=store, issued_at=now)
    assert split(b64url_decode(doc["signature"]))[1] <= HALF_N
