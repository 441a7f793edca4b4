"""Find a doctor of the region by what a family remembers: a name, its reading, the clinic, the specialty."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.core.text import kana_key, name_key, strip_control
from app.directory import service as directory
from app.directory.models import Institution, Practitioner

LIMIT = 12


@dataclass
class DoctorChoice:
    id: int
    name: str
    specialty: str
    institution: str


def search(*, session: Session, query: str, limit: int = LIMIT) -> list[DoctorChoice]:
    """Active practitioners whose name, kana, institution (or its kana) or specialty contains ``query``.

    The directory is a few hundred doctors for the whole region, so it is filtered in Python
    with the same folding as the registry search (髙→高, hiragana→katakana, no spaces).
    """
    q = strip_control(query or "").strip()
    if not q:
        return []
    key, kana = name_key(q), kana_key(q)
    out = []
    for practitioner, institution in directory.list_practitioners(session=session, active_only=True):
        if _matches(practitioner, institution, key, kana):
            out.append(
                DoctorChoice(
                    id=practitioner.id,
                    name=practitioner.full_name,
                    specialty=practitioner.specialty,
                    institution=institution.name if institution else "",
                )
            )
            if len(out) >= limit:
                break
    return out


def _matches(p: Practitioner, i: Institution | None, key: str, kana: str) -> bool:
    names = [name_key(p.family_name + p.given_name), name_key(p.specialty)]
    kanas = [kana_key(p.kana)]
    if i is not None:
        names.append(name_key(i.name))
        kanas.append(kana_key(i.kana))
    return any(key and key in n for n in names) or any(kana and kana in k for k in kanas)
