"""The browser verifier (ems_pwa/js/credential.js), run in Node, passes the vectors and agrees with Python."""

from __future__ import annotations

import json
import random
import threading
from functools import cache, partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.cards.credential import CREW_MESSAGES_JA, verify
from app.cards.keyset import KeySet
from app.cards.qr import qr_prefix
from app.cards.revocation import verify_revocation_document
from tests.cards.helpers import (
    CREDENTIALS,
    DOCUMENTS,
    FIELDS,
    ROOT,
    VECTOR_DIR,
    python_document_result,
    python_result,
    run_node,
)


@cache
def committed_report() -> dict:
    return run_node(VECTOR_DIR)


@pytest.mark.parametrize(
    "index", range(len(CREDENTIALS["vectors"])), ids=[v["description"] for v in CREDENTIALS["vectors"]]
)
def test_js_credential_vector_matches_expected_and_python(index):
    vector = CREDENTIALS["vectors"][index]
    js = committed_report()["files"]["card-credentials.json"][index]
    assert js["description"] == vector["description"]
    assert js["actual"] == vector["expected"]
    assert js["actual"] == python_result(vector)


@pytest.mark.parametrize(
    "index", range(len(DOCUMENTS["documents"])), ids=[v["description"] for v in DOCUMENTS["documents"]]
)
def test_js_revocation_vector_matches_expected_and_python(index):
    vector = DOCUMENTS["documents"][index]
    js = committed_report()["files"]["revocation-documents.json"][index]
    assert js["actual"] == vector["expected"] == python_document_result(vector["document"])


def test_js_report_has_no_failures_and_the_same_crew_messages():
    report = committed_report()
    assert report["failures"] == 0
    assert report["messages"] == CREW_MESSAGES_JA


def _mutants(valid_qr: str, cose: bytes, rng: random.Random) -> list[str]:
    prefix = qr_prefix(base_url="https://" + CREDENTIALS["host"])
    texts = []
    for index in range(len(cose)):
        for mask in (0x01, 0x80):
            changed = cose[:index] + bytes([cose[index] ^ mask]) + cose[index + 1 :]
            texts.append(prefix + str(int.from_bytes(changed, "big")))
    alphabet = "0123456789ABCXYZ:/.?#-_ %\x00é"
    for _ in range(400):
        text = list(valid_qr)
        position = rng.randrange(len(text))
        operation = rng.choice(("replace", "insert", "delete"))
        if operation == "delete":
            del text[position]
        else:
            text[position : position + (operation == "replace")] = rng.choice(alphabet)
        texts.append("".join(text))
    return texts


def test_python_and_js_agree_on_mutated_credentials(tmp_path):
    keys = KeySet.from_jwks(CREDENTIALS["keys"])
    revocations = verify_revocation_document(CREDENTIALS["revocations"], keys)
    valid = CREDENTIALS["vectors"][0]
    assert valid["expected"]["status"] == "genuine"
    digits = valid["qr"].split("/C/", 1)[1]
    cose = int(digits).to_bytes((int(digits).bit_length() + 7) // 8, "big")
    vectors = []
    for text in _mutants(valid["qr"], cose, random.Random(20260105)):
        result = verify(text, keys=keys, revocations=revocations, now=valid["now"]).as_dict()
        vectors.append(
            {
                "description": repr(text),
                "qr": text,
                "now": valid["now"],
                "expected": {name: result[name] for name in FIELDS},
            }
        )
    mutants = {**CREDENTIALS, "vectors": vectors}
    (tmp_path / "mutants.json").write_text(json.dumps(mutants), encoding="utf-8")
    report = run_node(tmp_path)
    disagreements = [r for r in report["files"]["mutants.json"] if not r["ok"]]
    assert disagreements == []
    assert len(report["files"]["mutants.json"]) == len(vectors)


@pytest.mark.browser
def test_browser_runs_the_verifier_without_a_bundler():
    """Chromium imports credential.js and the vendored cborg as plain ES modules and passes the vectors."""
    from playwright.sync_api import sync_playwright

    handler = partial(_QuietHandler, directory=str(ROOT / "ems_pwa"))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--disable-background-networking", "--disable-component-update"],
            )
            try:
                page = browser.new_page()
                page.goto(origin + "/vendor/README.md")  # any same-origin page: a secure context for WebCrypto
                results = page.evaluate(_BROWSER_SCRIPT, {"credentials": CREDENTIALS, "documents": DOCUMENTS})
            finally:
                browser.close()
        server.shutdown()
    assert results["credentials"] == [vector["expected"] for vector in CREDENTIALS["vectors"]]
    assert results["documents"] == [vector["expected"] for vector in DOCUMENTS["documents"]]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature is the base class's
        pass


_BROWSER_SCRIPT = """
async ({credentials, documents}) => {
  const m = await import('/js/credential.js')
  const fields = ['status', 'cardId', 'serial', 'issuedAt', 'expiresAt', 'kid', 'newerCardExists']
  const revocations = await m.verifyRevocationDocument(credentials.revocations, credentials.keys)
  const out = {credentials: [], documents: []}
  for (const v of credentials.vectors) {
    const r = await m.verifyCredential(v.qr, {keys: credentials.keys, revocations, now: v.now})
    out.credentials.push(Object.fromEntries(fields.map((f) => [f, r[f]])))
  }
  for (const v of documents.documents) {
    const r = await m.verifyRevocationDocument(v.document, documents.keys)
    out.documents.push(r.status === 'valid'
      ? {status: 'valid', version: r.version, issuedAt: r.issuedAt, entries: r.entries.size}
      : {status: 'invalid'})
  }
  return out
}
"""
