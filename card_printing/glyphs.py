"""Characters the print fonts lack: found per person, with what prints instead, for the print and the staff report.

No substitute is ever chosen silently for a person's own name: staff set 印刷用の表記. An
emergency contact's name prints as its kana reading; anything else refuses the print.
"""

from __future__ import annotations

from dataclasses import dataclass

from card_printing import fonts


@dataclass(frozen=True, slots=True)
class GlyphProblem:
    person_id: int
    person_name: str  # as registered, for the staff report
    field: str
    text: str
    chars: tuple[str, ...]
    substitute: str = ""  # what prints instead, when something does

    @property
    def codes(self) -> list[tuple[str, str]]:
        return [(c, f"U+{ord(c):04X}") for c in self.chars]

    @property
    def message(self) -> str:
        codes = "、".join(f"「{c}」({code})" for c, code in self.codes)
        return f"{self.person_name} さんの{self.field}「{self.text}」の {codes} は印刷用フォントにありません"


class GlyphChecker:
    """Collects the characters of one person's printed texts that the fonts lack."""

    def __init__(self, *, person_id: int, person_name: str):
        self.person_id, self.person_name, self.found = person_id, person_name, []

    def check(self, label: str, text: str | None, substitute: str = "") -> list[str]:
        missing = fonts.missing_glyphs(text)
        if missing:
            self.found.append(
                GlyphProblem(
                    person_id=self.person_id,
                    person_name=self.person_name,
                    field=label,
                    text=fonts.clean(text),
                    chars=tuple(missing),
                    substitute=substitute,
                )
            )
        return missing

    def contact_name(self, *, name: str, kana: str) -> str:
        """A contact's name as printed: its kana reading when the name has a character the font lacks."""
        kana = fonts.clean(kana)
        fallback = kana if kana and not fonts.missing_glyphs(kana) else ""
        if self.check("緊急連絡先の氏名", name, substitute=fallback):
            return fallback
        return fonts.clean(name)
