"""Characters the print fonts lack: found per person, with what prints instead, for the print and the staff report.

No substitute is ever chosen silently for a person's own name: staff set 印刷用の表記. An
emergency contact's name prints as its kana reading; anything else refuses the print.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, select

from app.directory.models import Institution, Practitioner
from app.persons.models import EmergencyContact, Person
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

    def __init__(self, person: Person):
        self.person, self.found = person, []

    def check(self, label: str, text: str | None, substitute: str = "") -> list[str]:
        missing = fonts.missing_glyphs(text)
        if missing:
            self.found.append(GlyphProblem(person_id=self.person.id, person_name=self.person.full_name, field=label,
                                           text=fonts.clean(text), chars=tuple(missing), substitute=substitute))
        return missing

    def contact_name(self, contact: EmergencyContact) -> str:
        """A contact's name as printed: its kana reading when the name has a character the font lacks."""
        kana = fonts.clean(contact.kana)
        fallback = kana if kana and not fonts.missing_glyphs(kana) else ""
        if self.check("緊急連絡先の氏名", contact.name, substitute=fallback):
            return fallback
        return fonts.clean(contact.name)


def glyph_report(*, session: Session, batch_size: int = 2000) -> list[GlyphProblem]:
    """Every person whose name, kana or emergency contacts have a character the fonts lack
    (with what prints instead, if anything), and every doctor or institution likewise."""
    found: list[GlyphProblem] = []
    last_id = 0
    person_cols = (Person.id, Person.family_name, Person.given_name, Person.family_name_kana, Person.given_name_kana, Person.print_name)
    while True:  # in keyset pages: only names are read, nothing medical is decrypted
        rows = session.exec(select(*person_cols).where(Person.id > last_id).order_by(Person.id).limit(batch_size)).all()
        if not rows:
            break
        last_id = rows[-1][0]
        contacts = defaultdict(list)
        for c in session.exec(select(EmergencyContact).where(EmergencyContact.person_id.in_([r[0] for r in rows]))):
            contacts[c.person_id].append(c)
        for pid, family, given, family_kana, given_kana, print_name in rows:
            person = Person(id=pid, family_name=family, given_name=given, family_name_kana=family_kana, given_name_kana=given_kana, print_name=print_name)
            checker = GlyphChecker(person)
            substitute_ok = bool(print_name) and not checker.check("印刷用の表記", print_name)
            checker.check("氏名", person.full_name, substitute=fonts.clean(print_name) if substitute_ok else "")
            checker.check("フリガナ", person.full_kana)
            for contact in contacts[pid]:
                checker.contact_name(contact)
                checker.check("緊急連絡先の続柄", contact.relation)
            found += checker.found
        session.expunge_all()
    for practitioner, institution in session.exec(select(Practitioner, Institution).join(Institution, isouter=True)):
        text = f"{practitioner.full_name} {practitioner.specialty} {institution.name if institution else ''}"
        if missing := fonts.missing_glyphs(text):
            found.append(GlyphProblem(person_id=0, person_name=f"医師 {practitioner.full_name}", field="医療機関の名簿",
                                      text=fonts.clean(text), chars=tuple(missing)))
    return found
