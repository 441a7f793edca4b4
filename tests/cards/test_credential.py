"""Issuing, printing, verifying and revoking card credentials with a real key store on disk."""

from __future__ import annotations

import base64
import io
import json
import random
import stat

import pytest
import segno
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.cards.credential import CREW_MESSAGES_JA, CardClaims, Status, issue_credential, new_card_id, verify
from app.cards.errors import InvalidRevocationDocument
from app.cards.keyset import KeySet, b64url_decode, b64url_encode
from app.cards.keystore import KeyStore
from app.cards.qr import qr_prefix
from app.cards.revocation import RevocationEntry, build_revocation_document, verify_revocation_document
from app.core.errors import Conflict, Invalid, NotFound

NOW = 1767571200
REALISTIC_HOST = "https://lifeline.city.kazo.saitama.jp"  # 29 characters
HOST_30 = "https://emergency-card.city.kazo.lg.jp"  # 30 characters
SHORT_HOST = "https://ll.city.kazo.lg.jp"  # 18 characters: the longest that fits version 7 is 19


@pytest.fixture
def keystore(tmp_path) -> KeyStore:
    store = KeyStore(tmp_path / "keys" / "card")
    store.ensure_active(now=NOW - 86400)
    return store


@pytest.fixture
def card(keystore):
    claims = CardClaims(card_id=new_card_id(), serial=1, issued_at=NOW - 3600)
    return issue_credential(claims=claims, signer=keystore.signing_key(), base_url=REALISTIC_HOST)


def check(text: object, keystore: KeyStore, revocations=None, now: int = NOW):
    return verify(text, keys=keystore.verification_keys(), revocations=revocations, now=now)


def qr_from(cose: bytes, base_url: str = REALISTIC_HOST) -> str:
    return qr_prefix(base_url=base_url) + str(int.from_bytes(cose, "big"))


def test_issued_card_verifies_and_carries_only_the_pointer(card, keystore):
    result = check(card.text, keystore)
    assert result.status is Status.GENUINE and result.message_ja == "本物のカードです"
    assert result.kid == keystore.active().kid and len(result.kid) == 4
    assert result.claims.serial == 1 and len(result.claims.card_id) == 8
    assert card.text.startswith("HTTPS://LIFELINE.CITY.KAZO.SAITAMA.JP/C/") and card.text[40:].isdigit()
    assert len(card.cose) == 99


def test_every_single_byte_change_is_rejected(card, keystore):
    keys = keystore.verification_keys()
    for index in range(len(card.cose)):
        for value in {card.cose[index] ^ 0x01, card.cose[index] ^ 0x80, 0x00, 0xFF} - {card.cose[index]}:
            changed = card.cose[:index] + bytes([value]) + card.cose[index + 1 :]
            result = verify(qr_from(changed), keys=keys, revocations=None, now=NOW)
            assert result.status is not Status.GENUINE, (index, value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_mutations_of_the_cose_bytes_are_rejected(card, keystore, data):
    cose = bytearray(card.cose)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(cose) - 1))
        action = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        if action == "delete" and len(cose) > 1:
            del cose[index]
        elif action == "insert":
            cose.insert(index, data.draw(st.integers(0, 255)))
        else:
            cose[index] = (cose[index] + data.draw(st.integers(1, 255))) % 256
    if bytes(cose) != card.cose and cose[0]:
        assert check(qr_from(bytes(cose)), keystore).status is not Status.GENUINE


def _random_inputs(valid: str, rng: random.Random):
    prefix = valid[: valid.index("/C/") + 3]
    for round_ in range(10_000):
        kind = round_ % 5
        if kind == 0:
            yield (
                "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(60)))
                .encode("utf-8", "replace")
                .decode("utf-8", "replace")
            )
        elif kind == 1:
            yield bytes(rng.randrange(256) for _ in range(rng.randrange(300))).decode("latin-1")
        elif kind == 2:
            yield prefix + str(rng.randrange(1, 10 ** rng.randrange(1, 300)))
        elif kind == 3:
            # Random bytes behind a plausible COSE_Sign1 start reach the CBOR decoder.
            body = bytes([0xD2, 0x84, 0x49]) + bytes(rng.randrange(256) for _ in range(rng.randrange(120)))
            yield prefix + str(int.from_bytes(body, "big"))
        else:
            text = list(valid)
            for _ in range(rng.randrange(1, 4)):
                text[rng.randrange(len(text))] = rng.choice("0123456789AZaz/:.?#% \x00")
            yield "".join(text)


def test_ten_thousand_random_inputs_never_raise_and_are_never_genuine(card, keystore):
    keys = keystore.verification_keys()
    signed_part = card.text[card.text.index("/C/") :]
    statuses = set()
    for text in _random_inputs(card.text, random.Random(4711)):
        result = verify(text, keys=keys, revocations=None, now=NOW)
        # Scheme and host are not signed: only a mutation there may stay genuine.
        if not text.upper().endswith(signed_part):
            assert result.status is not Status.GENUINE, text
        statuses.add(result.status)
    assert Status.MALFORMED in statuses


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.one_of(
        st.text(),
        st.binary().map(lambda b: b.decode("latin-1")),
        st.from_regex(r"\AHTTPS://[A-Z.]{1,30}/C/[0-9]{0,300}\Z"),
    )
)
def test_hypothesis_text_never_raises(keystore, text):
    assert check(text, keystore).status in set(Status)


@pytest.mark.parametrize("junk", [None, b"HTTPS://X/C/1", 12345, ["HTTPS://X/C/1"], {"qr": 1}])
def test_non_text_input_is_malformed(keystore, junk):
    assert check(junk, keystore).status is Status.MALFORMED


def test_extra_query_string_gets_a_clear_status(card, keystore):
    result = check(card.text + "?x=1", keystore)
    assert (result.status, result.reason) == (Status.MALFORMED, "query")
    assert result.message_ja == CREW_MESSAGES_JA["malformed"]


def _render_and_decode(segments) -> tuple[segno.QRCode, object]:
    code = segno.make([segment.text for segment in segments], error="M", boost_error=False, micro=False)
    assert [s.mode for s in segments] == ["alphanumeric", "numeric"]
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=5, border=4)
    buffer.seek(0)
    decoded = zxingcpp.read_barcodes(Image.open(buffer))
    assert len(decoded) == 1
    return code, decoded[0]


def test_printed_qr_scans_back_as_genuine_at_version_7_or_less(keystore):
    claims = CardClaims(card_id=new_card_id(), serial=3, issued_at=NOW - 60)
    card = issue_credential(claims=claims, signer=keystore.signing_key(), base_url=SHORT_HOST)
    code, decoded = _render_and_decode(card.segments)
    assert code.version <= 7 and code.error == "M"
    assert decoded.extra["Version"] == str(code.version) and decoded.ec_level == "M"
    assert decoded.text == card.text
    assert check(decoded.text, keystore).status is Status.GENUINE


@pytest.mark.parametrize(("base_url", "version"), [(REALISTIC_HOST, 8), (HOST_30, 8), (SHORT_HOST, 7)])
def test_measured_qr_versions_match_docs(keystore, base_url, version):
    claims = CardClaims(card_id=new_card_id(), serial=1, issued_at=NOW)
    card = issue_credential(claims=claims, signer=keystore.signing_key(), base_url=base_url)
    code, decoded = _render_and_decode(card.segments)
    assert code.version == version
    assert check(decoded.text, keystore).status is Status.GENUINE


def test_numeric_segment_beats_base32_and_per_character_digits(keystore):
    claims = CardClaims(card_id=new_card_id(), serial=1, issued_at=NOW)
    card = issue_credential(claims=claims, signer=keystore.signing_key(), base_url=SHORT_HOST)
    prefix, digits = (segment.text for segment in card.segments)
    base32 = base64.b32encode(card.cose).decode().rstrip("=")
    per_char = "".join(f"{ord(c) - 45:02d}" for c in b64url_encode(card.cose))  # SMART Health Cards style

    def version(segments):
        return segno.make(segments, error="M", boost_error=False, micro=False).version

    assert (version([prefix, digits]), version([prefix + base32]), version([prefix, per_char])) == (7, 8, 8)


def test_card_signed_before_two_rotations_still_verifies(card, keystore):
    first = keystore.active()
    keystore.rotate(now=NOW + 1)
    third = keystore.rotate(now=NOW + 2)
    assert [info.active for info in keystore.list()] == [False, False, True]
    assert keystore.active() == third != first
    assert check(card.text, keystore).status is Status.GENUINE
    jwks = keystore.public_jwks()
    assert verify(card.text, keys=KeySet.from_jwks(jwks), revocations=None, now=NOW).status is Status.GENUINE


def test_verification_keys_are_imported_once_per_index_version(card, keystore):
    keys = keystore.verification_keys()
    assert keystore.verification_keys() is keys
    keystore.rotate(now=NOW)
    rotated = keystore.verification_keys()
    assert rotated is not keys and len(rotated.with_kid(keystore.active().kid)) == 1
    assert verify(card.text, keys=rotated, revocations=None, now=NOW).status is Status.GENUINE


def test_key_files_are_private_and_retired_private_keys_are_gone(keystore):
    keystore.rotate(now=NOW)
    directory = keystore.directory
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in directory.iterdir())
    assert sorted(path.name for path in directory.glob("*.pem")) == [keystore.active().kid.hex() + ".pem"]


def test_jwks_shape(keystore):
    keystore.rotate(now=NOW)
    keystore.set_not_after(kid=keystore.list()[0].kid, not_after=NOW + 10)
    old, new = keystore.public_jwks()["keys"]
    assert set(new) == {"kty", "crv", "x", "y", "kid", "alg", "use", "nbf", "active"}
    assert (new["kty"], new["crv"], new["alg"], new["use"], new["active"], new["nbf"]) == (
        "EC",
        "P-256",
        "ES256",
        "sig",
        True,
        NOW,
    )
    assert len(b64url_decode(new["kid"])) == 4 and len(b64url_decode(new["x"])) == 32
    assert old["exp"] == NOW + 10 and old["active"] is False
    json.dumps(keystore.public_jwks())


def test_key_past_not_after_makes_its_cards_expired(card, keystore):
    old = keystore.active()
    keystore.rotate(now=NOW)
    keystore.set_not_after(kid=old.kid, not_after=NOW + 10)
    assert check(card.text, keystore, now=NOW + 9).status is Status.GENUINE
    result = check(card.text, keystore, now=NOW + 10)
    assert (result.status, result.reason) == (Status.EXPIRED, "key_expired")


def test_keystore_domain_errors(tmp_path, keystore):
    empty = KeyStore(tmp_path / "empty")
    with pytest.raises(NotFound):
        empty.signing_key()
    with pytest.raises(NotFound):
        keystore.set_not_after(kid=b"none", not_after=NOW)
    with pytest.raises(Conflict):
        keystore.set_not_after(kid=keystore.active().kid, not_after=NOW)
    assert keystore.ensure_active() == keystore.active()


def test_card_expiry(keystore):
    claims = CardClaims(card_id=new_card_id(), serial=1, issued_at=NOW, expires_at=NOW + 100)
    card = issue_credential(claims=claims, signer=keystore.signing_key(), base_url=REALISTIC_HOST)
    assert check(card.text, keystore, now=NOW + 99).status is Status.GENUINE
    assert check(card.text, keystore, now=NOW + 100).status is Status.EXPIRED


@pytest.mark.parametrize("bad", [dict(card_id=b"short"), dict(serial=70000), dict(serial=-1), dict(expires_at=1)])
def test_claims_are_validated_before_signing(bad):
    with pytest.raises(ValueError):
        CardClaims(**{"card_id": b"12345678", "serial": 1, "issued_at": NOW, **bad})


@pytest.mark.parametrize(
    "base_url", ["https://host/path", "https://host?x=1", "https://under_score.jp", "https://user@host"]
)
def test_base_url_must_fit_alphanumeric_mode(base_url):
    with pytest.raises(Invalid):
        qr_prefix(base_url=base_url)


@pytest.mark.parametrize(
    "jwks",
    [
        {},
        {"keys": "x"},
        {"keys": [{"kty": "RSA"}]},
        {"keys": [{"kty": "EC", "crv": "P-256", "kid": "AA", "x": "AA", "y": "AA"}]},
    ],
)
def test_unusable_jwks_is_refused(jwks):
    with pytest.raises(Invalid):
        KeySet.from_jwks(jwks)


# --- revocation list -----------------------------------------------------------------------


def _entries(card_id: bytes) -> list[RevocationEntry]:
    return [
        RevocationEntry(card_id=card_id, serial=1, reason="superseded", superseded_by_serial=2),
        RevocationEntry(card_id=b"\x01" * 8, serial=4, reason="cancelled"),
    ]


def test_revoked_card_reports_the_newer_card(card, keystore):
    card_id = check(card.text, keystore).claims.card_id
    doc = build_revocation_document(entries=_entries(card_id), version=7, keystore=keystore, issued_at=NOW)
    revocations = verify_revocation_document(doc, keystore.verification_keys())
    assert revocations.version == 7 and len(revocations.entries) == 2
    result = check(card.text, keystore, revocations=revocations)
    assert (result.status, result.newer_card_exists) == (Status.REVOKED, True)
    assert result.message_ja == "このカードは失効しています（新しいカードがあります）"
    assert result.as_dict()["cardId"] == card_id.hex()


def _tamperings(payload: dict):
    yield "version", lambda p: p.update(version=p["version"] + 1)
    yield "issued_at", lambda p: p.update(issued_at=p["issued_at"] - 1)
    for index, entry in enumerate(payload["entries"]):
        for name, value in entry.items():
            if name == "card_id":
                changed = "0" * 16
            elif name == "reason":
                changed = "cancelled" if value == "superseded" else "superseded"
            else:
                changed = value + 1
            yield f"entries[{index}].{name}", lambda p, i=index, n=name, v=changed: p["entries"][i].update({n: v})
        yield f"entries[{index}] removed", lambda p, i=index: p["entries"].pop(i)


def test_tampering_with_any_entry_or_the_version_breaks_the_signature(card, keystore):
    doc = build_revocation_document(entries=_entries(b"\x02" * 8), version=3, keystore=keystore, issued_at=NOW)
    keys = keystore.verification_keys()
    original = json.loads(b64url_decode(doc["payload"]))
    tampered_count = 0
    for label, tamper in _tamperings(original):
        payload = json.loads(b64url_decode(doc["payload"]))
        tamper(payload)
        assert payload != original, label
        forged = {**doc, "payload": b64url_encode(json.dumps(payload, separators=(",", ":")).encode())}
        with pytest.raises(InvalidRevocationDocument):
            verify_revocation_document(forged, keys)
        tampered_count += 1
    assert tampered_count >= 10


def test_revocation_list_must_be_signed_by_the_active_key(keystore):
    doc = build_revocation_document(entries=[], version=1, keystore=keystore, issued_at=NOW)
    keystore.rotate(now=NOW)
    with pytest.raises(InvalidRevocationDocument) as caught:
        verify_revocation_document(doc, keystore.verification_keys())
    assert caught.value.reason == "unknown_signer"
    fresh = build_revocation_document(entries=[], version=2, keystore=keystore, issued_at=NOW)
    assert verify_revocation_document(fresh, keystore.verification_keys()).version == 2


@pytest.mark.parametrize(
    "bad",
    [
        dict(reason="deceased"),
        dict(reason="superseded"),
        dict(reason="cancelled", superseded_by_serial=2),
        dict(superseded_by_serial=1),
    ],
)
def test_revocation_entries_are_validated(bad):
    fields = {"card_id": b"\x03" * 8, "serial": 1, "reason": "superseded", "superseded_by_serial": 2, **bad}
    if bad.get("reason") == "superseded":
        fields["superseded_by_serial"] = None
    with pytest.raises(ValueError):
        RevocationEntry(**fields)
