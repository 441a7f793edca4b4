"""The shared test vectors (tests/vectors/) and what the Python and the browser verifiers make of them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.cards.credential import verify
from app.cards.errors import InvalidRevocationDocument
from app.cards.keyset import KeySet
from app.cards.revocation import verify_revocation_document

ROOT = Path(__file__).resolve().parents[2]
VECTOR_DIR = ROOT / "tests" / "vectors"
RUNNER = ROOT / "ems_pwa" / "js" / "test" / "verify_vectors.mjs"
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


def run_node(vector_dir: Path) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node (>= 20) is required to test the browser verifier; install it (Debian: apt-get install nodejs)"
        )
    done = subprocess.run([node, str(RUNNER), str(vector_dir)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.stderr == "", done.stderr
    assert done.returncode in (0, 1), done.stdout
    return json.loads(done.stdout)
