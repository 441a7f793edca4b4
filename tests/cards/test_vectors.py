"""The Python verifiers pass every shared test vector (tests/vectors/), which stay reproducible."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from app.cards.credential import verify
from app.cards.errors import InvalidRevocationDocument
from app.cards.keyset import KeySet
from app.cards.revocation import verify_revocation_document

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"
CREDENTIALS = json.loads((VECTOR_DIR / "card-credentials.json").read_text(encoding="utf-8"))
DOCUMENTS = json.loads((VECTOR_DIR / "revocation-documents.json").read_text(encoding="utf-8"))
FIELDS = ("status", "cardId", "serial", "issuedAt", "expiresAt", "kid", "newerCardExists")


def documented(result: dict) -> dict:
    return {name: result[name] for name in FIELDS}


def python_result(vector: dict) -> dict:
    keys = KeySet.from_jwks(CREDENTIALS["keys"])
    revocations = verify_revocation_document(CREDENTIALS["revocations"], keys)
    return documented(verify(vector["qr"], keys=keys, revocations=revocations, now=vector["now"]).as_dict())


def python_document_result(document: object) -> dict:
    try:
        verified = verify_revocation_document(document, KeySet.from_jwks(DOCUMENTS["keys"]))
    except InvalidRevocationDocument:
        return {"status": "invalid"}
    return {
        "status": "valid",
        "version": verified.version,
        "issuedAt": verified.issued_at,
        "entries": len(verified.entries),
    }


@pytest.mark.parametrize("vector", CREDENTIALS["vectors"], ids=[v["description"] for v in CREDENTIALS["vectors"]])
def test_credential_vector(vector):
    assert python_result(vector) == vector["expected"]


@pytest.mark.parametrize("vector", DOCUMENTS["documents"], ids=[v["description"] for v in DOCUMENTS["documents"]])
def test_revocation_document_vector(vector):
    assert python_document_result(vector["document"]) == vector["expected"]


def test_vectors_cover_every_status_and_the_required_cases():
    statuses = {vector["expected"]["status"] for vector in CREDENTIALS["vectors"]}
    assert statuses == {"genuine", "revoked", "forged", "expired", "unknown_key", "malformed"}
    descriptions = " ".join(vector["description"] for vector in CREDENTIALS["vectors"])
    for case in (
        "same kid",
        "protected header",
        "payload:",
        "signature:",
        "newer card exists",
        "expiry",
        "unknown kid",
        "truncated",
        "wrong prefix",
        "lower-case",
        "trailing garbage",
        "query string",
        "empty string",
        "binary junk",
    ):
        assert case in descriptions, case


def test_generator_reproduces_the_committed_vectors(tmp_path):
    spec = importlib.util.spec_from_file_location("vector_generator", VECTOR_DIR / "generate.py")
    generator = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generator  # dataclasses look their module up there
    try:
        spec.loader.exec_module(generator)
    finally:
        del sys.modules[spec.name]
    for written in generator.write(tmp_path):
        assert written.read_bytes() == (VECTOR_DIR / written.name).read_bytes(), (
            f"{written.name} is stale: run tests/vectors/generate.py"
        )
