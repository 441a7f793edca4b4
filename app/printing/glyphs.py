"""The staff report of characters the print fonts lack, over every person, contact and doctor."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, select

from app.directory.models import Institution, Practitioner
from app.persons.models import EmergencyContact, Person
from card_printing import fonts
from card_printing.glyphs import GlyphChecker, GlyphProblem


def glyph_report(*, session: Session, batch_size: int = 2000) -> list[GlyphProblem]:
    """Every person whose name, kana or emergency contacts have a character the fonts lack
    (with what prints instead, if anything), and every doctor or institution likewise."""
    found: list[GlyphProblem] = []
    last_id = 0
    person_cols = (
        Person.id,
        Person.family_name,
        Person.given_name,
        Person.family_name_kana,
        Person.given_name_kana,
        Person.print_name,
    )
    while True:  # in keyset pages: only names are read, nothing medical is decrypted
        rows = session.exec(select(*person_cols).where(Person.id > last_id).order_by(Person.id).limit(batch_size)).all()
        if not rows:
            break
        last_id = rows[-1][0]
        contacts = defaultdict(list)
        for c in session.exec(select(EmergencyContact).where(EmergencyContact.person_id.in_([r[0] for r in rows]))):
            contacts[c.person_id].append(c)
        for pid, family, given, family_kana, given_kana, print_name in rows:
            person = Person(
                id=pid,
                family_name=family,
                given_name=given,
                family_name_kana=family_kana,
                given_name_kana=given_kana,
                print_name=print_name,
            )
            checker = GlyphChecker(person_id=pid, person_name=person.full_name)
            substitute_ok = bool(print_name) and not checker.check("印刷用の表記", print_name)
            checker.check("氏名", person.full_name, substitute=fonts.clean(print_name) if substitute_ok else "")
            checker.check("フリガナ", person.full_kana)
            for contact in contacts[pid]:
                checker.contact_name(name=contact.name, kana=contact.kana)
                checker.check("緊急連絡先の続柄", contact.relation)
            found += checker.found
        session.expunge_all()
    for practitioner, institution in session.exec(select(Practitioner, Institution).join(Institution, isouter=True)):
        text = f"{practitioner.full_name} {practitioner.specialty} {institution.name if institution else ''}"
        if missing := fonts.missing_glyphs(text):
            found.append(
                GlyphProblem(
                    person_id=0,
                    person_name=f"医師 {practitioner.full_name}",
                    field="医療機関の名簿",
                    text=fonts.clean(text),
                    chars=tuple(missing),
                )
            )
    return found
