"""The Python verifiers pass every shared test vector (tests/vectors/), which stay reproducible."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.cards.helpers import CREDENTIALS, DOCUMENTS, VECTOR_DIR, python_document_result, python_result


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
