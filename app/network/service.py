"""What a network client may read, the patient summary document, and inbound clinical entries."""

from __future__ import annotations

import uuid
from datetime import timedelta

from pydantic import ValidationError
from sqlmodel import Session, select

from app.core.clock import today_jst, utcnow
from app.core.errors import Invalid, NotFound
from app.core.forms import message_for
from app.core.models import Actor, Source
from app.core.text import kana_key, name_key
from app.directory.models import Institution, Practitioner
from app.households.models import Household
from app.network import resources as fhir
from app.network.clients import Caller
from app.persons import dataset
from app.persons.models import CATEGORIES, ClinicalEntry, ClinicalEntryCreate, ClinicalKind, ClinicalStatus, Person
from app.scans.models import Transport

HANDOFF_WINDOW = timedelta(hours=24)  # an incoming patient stays on the hospital's list (and readable) this long
SEARCH_LIMIT = 50


def incoming(*, session: Session, institution_id: int) -> list[Transport]:
    """Transports to ``institution_id`` in the last 24 hours, newest first (choosing another hospital ends one)."""
    rows = session.exec(
        select(Transport).where(Transport.chosen_at >= utcnow() - HANDOFF_WINDOW).order_by(Transport.id)
    )
    latest: dict[int, Transport] = {}
    for row in rows:
        latest[row.audit_id] = row
    return sorted((t for t in latest.values() if t.institution_id == institution_id), key=lambda t: t.id, reverse=True)


def access_basis(*, session: Session, caller: Caller, person: Person) -> str | None:
    """Why the caller may read this person: "consent", "handoff" (brought in by a crew, APPI 27-1-2) or None."""
    if dataset.current_consent(session=session, person_id=person.id) is not None:
        return "consent"
    if any(t.person_id == person.id for t in incoming(session=session, institution_id=caller.institution.id)):
        return "handoff"
    return None


def search_patients(*, session: Session, params: dict[str, str]) -> list[Person]:
    """Patients matching every given parameter (identifier, family, given, name, birthdate, _id)."""
    stmt = select(Person)
    if params.get("_id"):
        stmt = stmt.where(Person.id == _int(params["_id"]))
    if params.get("identifier"):
        system, _, value = params["identifier"].rpartition("|")
        if system == fhir.PERSON_ID_SYSTEM:
            stmt = stmt.where(Person.id == _int(value))
        else:
            stmt = stmt.where(Person.external_ref == value)
    if params.get("birthdate"):
        from datetime import date

        try:
            stmt = stmt.where(Person.birth_date == date.fromisoformat(params["birthdate"]))
        except ValueError:
            raise Invalid("birthdate は YYYY-MM-DD で指定してください") from None
    for key in ("family", "given", "name"):
        if value := params.get(key, "").strip():
            stmt = stmt.where(Person.name_key.contains(name_key(value)) | Person.kana_key.contains(kana_key(value)))
    return list(session.exec(stmt.order_by(Person.id).limit(SEARCH_LIMIT)))


def _int(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 2_147_483_647:
        raise NotFound("見つかりません")
    return int(value)


def doctors(*, session: Session, person: Person) -> dict[str, tuple[Practitioner, Institution | None]]:
    """The family doctor and the second doctor with their institutions."""
    out = {}
    for key, pid in (("family", person.family_doctor_id), ("second", person.second_doctor_id)):
        if pid and (p := session.get(Practitioner, pid)) is not None:
            out[key] = (p, session.get(Institution, p.institution_id) if p.institution_id else None)
    return out


SECTIONS = (
    (ClinicalKind.allergy, "48765-2", "アレルギー・薬剤禁忌"),
    (ClinicalKind.medication, "10160-0", "服薬"),
    (ClinicalKind.condition, "11450-4", "病歴・問題"),
)


def _entry_line(e: ClinicalEntry) -> str:
    mark = "【医療機関確認済】" if fhir.clinically_confirmed(e) else ""
    return f"{e.text}{mark}（{fhir.label('source', e.source)}{'・' + e.source_detail if e.source_detail else ''}）"


def summary(*, session: Session, person: Person, base: str) -> dict:
    """International Patient Summary–shaped document: Composition with allergies, medications and problems."""
    household = session.get(Household, person.household_id)
    entries = dataset.list_entries(session=session, person_id=person.id)
    team = doctors(session=session, person=person)
    resources = [fhir.patient(person, household)]
    sections = []
    for kind, loinc, title in SECTIONS:
        mine = [e for e in entries if e.kind == kind]
        resources += [fhir.clinical(e) for e in mine]
        section = {
            "title": title,
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "text": fhir.narrative(*([_entry_line(e) for e in mine] or ["記載なし"])),
            "entry": [{"reference": f"{fhir.TYPE_OF_KIND[kind]}/{e.id}"} for e in mine],
        }
        if not mine:
            section["emptyReason"] = {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": "unavailable"}]
            }
        sections.append(section)
    for key, _title in fhir.DOCTOR_ROLES:
        if key in team:
            p, inst = team[key]
            resources.append(fhir.practitioner(p))
            if inst:
                resources.append(fhir.organization(inst))
    resources.append(fhir.care_team(person, team))
    now = fhir.instant(utcnow())
    composition = fhir.clean(
        {
            "resourceType": "Composition",
            "id": str(uuid.uuid4()),
            "status": "final",
            "type": {
                "coding": [{"system": "http://loinc.org", "code": "60591-5", "display": "Patient summary Document"}]
            },
            "subject": fhir.ref("Patient", person.id, person.full_name),
            "date": now,
            "author": [{"display": "利根ライフライン（加須市 救急医療情報）"}],
            "title": f"救急医療情報サマリー：{person.full_name}",
            "confidentiality": "R",
            "text": fhir.narrative(
                f"{person.full_name}（{person.full_kana}）",
                f"生年月日 {person.birth_date.isoformat()}",
                *(f"{t}：{team[k][0].full_name}" for k, t in fhir.DOCTOR_ROLES if k in team),
            ),
            "section": sections,
        }
    )
    entries_out = [{"fullUrl": f"urn:uuid:{composition['id']}", "resource": composition}]
    entries_out += [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "document",
        "timestamp": now,
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "entry": entries_out,
    }


def parse_inbound(resource_type: str, body: dict) -> tuple[int, ClinicalEntryCreate]:
    """Validate an inbound AllergyIntolerance / Condition / MedicationStatement; (patient id, entry data)."""
    from fhir.resources.R4B import get_fhir_model_class

    if not isinstance(body, dict) or body.get("resourceType") != resource_type:
        raise Invalid("resourceType が URL と一致しません")
    try:
        model = get_fhir_model_class(resource_type).model_validate(body)
    except (ValidationError, ValueError) as exc:
        raise Invalid("FHIR リソースとして正しくありません: %(error)s", error=str(exc).splitlines()[0][:200]) from None
    kind = fhir.KIND_OF_TYPE[resource_type]
    subject = model.patient if kind == ClinicalKind.allergy else model.subject
    reference = (subject.reference or "") if subject else ""
    if not reference.startswith("Patient/"):
        raise Invalid("患者の参照（Patient/id）が必要です")
    person_id = _int(reference.removeprefix("Patient/"))
    concept = model.medicationCodeableConcept if kind == ClinicalKind.medication else model.code
    if concept is None:
        raise Invalid("コードまたはテキストが必要です")
    coding = next((c for c in concept.coding or [] if c.system in fhir.CODE_SYSTEM_KEYS and c.code), None)
    text = concept.text or next((c.display for c in concept.coding or [] if c.display), None)
    if not text:
        raise Invalid("テキスト（code.text）が必要です")
    category = CATEGORIES[kind][0]
    if kind == ClinicalKind.allergy and model.category:
        category = {"medication": "drug", "food": "food"}.get(model.category[0], "other")
    if kind == ClinicalKind.medication and any(d.asNeededBoolean for d in model.dosage or []):
        category = "as_needed"
    alerts = {e.valueCode for e in (model.extension or []) if e.url == fhir.HIGH_ALERT}
    try:
        data = ClinicalEntryCreate(
            kind=kind,
            category=category,
            text=text[:500],
            code_system=fhir.CODE_SYSTEM_KEYS[coding.system] if coding else "",
            code=coding.code[:40] if coding else None,
            is_anticoagulant="anticoagulant" in alerts and kind == ClinicalKind.medication,
            is_insulin="insulin" in alerts and kind == ClinicalKind.medication,
            note="\n".join(n.text for n in (model.note or []) if n.text)[:1000] or None,
        )
    except ValidationError as exc:
        # Valid FHIR can still be unusable for us (control characters, blank text): the same clear 400.
        error = exc.errors()[0]
        raise Invalid(
            "FHIR リソースとして正しくありません: %(error)s",
            error=f"{'.'.join(map(str, error['loc']))}: {message_for(error)}",
        ) from None
    return person_id, data


def add_inbound(
    *, session: Session, caller: Caller, person: Person, data: ClinicalEntryCreate
) -> tuple[ClinicalEntry, bool]:
    """Store the institution's entry beside the others (never over them); a repeat of its own is not doubled."""
    name = caller.institution.name
    same = session.exec(
        select(ClinicalEntry).where(
            ClinicalEntry.person_id == person.id,
            ClinicalEntry.kind == data.kind,
            ClinicalEntry.source == Source.network,
            ClinicalEntry.source_detail == name,
            ClinicalEntry.status == ClinicalStatus.active,
        )
    ).all()
    for entry in same:
        if entry.text == data.text:
            entry.last_confirmed_on = today_jst()
            session.add(entry)
            session.commit()
            return entry, False
    actor = Actor(user_id=caller.user.id, name=name, source=Source.network, role="network")
    return dataset.add_entry(session=session, actor=actor, person_id=person.id, data=data), True
