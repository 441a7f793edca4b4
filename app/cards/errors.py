"""Errors of the cards domain; the verifiers turn them into a status instead of raising."""

from __future__ import annotations

from app.core.errors import Invalid


class MalformedCredential(Invalid):
    """The QR text is not a well-formed card credential; ``reason`` is a short code for logs."""

    def __init__(self, reason: str):
        super().__init__("カードのQRコードの形式が正しくありません")
        self.reason = reason


class InvalidRevocationDocument(Invalid):
    """A revocation list whose signature, signer or contents cannot be trusted."""

    def __init__(self, reason: str):
        super().__init__("失効リストを確認できません")
        self.reason = reason
