"""Our data as FHIR R4 resources, JP Core shaped, built as plain dicts (validated in the tests with fhir.resources R4B).

Empty values are left out (FHIR forbids empty strings, lists and objects).
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape

from app.audit.models import AuditEvent
from app.core.clock import to_jst
from app.core.labels import label
from app.core.models import Source
from app.directory.models import Institution, InstitutionKind, Practitioner
from app.households.models import Household
from app.persons.models import ClinicalEntry, ClinicalKind, ClinicalStatus, Consent, EmergencyContact, Person

JP = "http://jpfhir.jp/fhir/core/StructureDefinition/"
EN_REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
SOURCE_SYSTEM = "urn:tone-lifeline:fhir:source"  # who stated the entry: resident, staff, doctor, network, import
HIGH_ALERT = "urn:tone-lifeline:fhir:high-alert-medication"  # anticoagulant / insulin
PERSON_ID_SYSTEM = "urn:tone-lifeline:person"
RESIDENT_REF_SYSTEM = "urn:tone-lifeline:kazo:resident-ref"  # the city's 宛名番号
INCIDENT_SYSTEM = "urn:tone-lifeline:incident"
# Medication and condition codings: JP Core's identifiers for YJ, HOT9, 一般名処方, MEDIS 標準病名; WHO ICD-10.
CODE_SYSTEMS = {
    "yj": "urn:oid:1.2.392.100495.20.1.73",
    "hot9": "urn:oid:1.2.392.200119.4.403.1",
    "generic": "urn:oid:1.2.392.100495.20.1.81",
    "icd10": "http://hl7.org/fhir/sid/icd-10",
    "byomei": "urn:oid:1.2.392.200119.4.101.6",
}
CODE_SYSTEM_KEYS = {uri: key for key, uri in CODE_SYSTEMS.items()}
GENDER = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}


def clean(value):
    """Drop None, empty strings, lists and objects, recursively."""
    if isinstance(value, dict):
        out = {k: clean(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [v for v in (clean(v) for v in value) if v not in (None, "", [], {})]
    return value


def instant(value: datetime | None) -> str | None:
    local = to_jst(value)
    return local.isoformat(timespec="seconds") if local else None


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def narrative(*lines: str) -> dict:
    """Generated narrative (escaped XHTML) in Japanese."""
    body = "".join(f"<p>{escape(line)}</p>" for line in lines if line)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body or "<p>-</p>"}</div>'}


def ref(resource_type: str, rid: int | str | None, display: str = "") -> dict | None:
    return None if rid is None else {"reference": f"{resource_type}/{rid}", "display": display}


def _names(
    kanji_family: str, kanji_given: str, kana_family: str = "", kana_given: str = "", kana_text: str = ""
) -> list[dict]:
    names = [
        {
            "extension": [{"url": EN_REPRESENTATION, "valueCode": "IDE"}],
            "use": "official",
            "text": f"{kanji_family} {kanji_given}".strip(),
            "family": kanji_family,
            "given": [kanji_given],
        }
    ]
    kana = f"{kana_family} {kana_given}".strip() or kana_text
    if kana:
        names.append(
            {
                "extension": [{"url": EN_REPRESENTATION, "valueCode": "SYL"}],
                "use": "official",
                "text": kana,
                "family": kana_family,
                "given": [kana_given],
            }
        )
    return names


def _phone(*numbers: str, use: str = "home") -> list[dict]:
    return [{"system": "phone", "value": n, "use": use} for n in numbers if n]


def patient(person: Person, household: Household) -> dict:
    """JP_Patient: kanji (IDE) and kana (SYL) names, address as 都道府県 / 市区町村 / line, postal code."""
    identifiers = [{"system": PERSON_ID_SYSTEM, "value": str(person.id)}]
    if person.external_ref:
        identifiers.append({"system": RESIDENT_REF_SYSTEM, "value": person.external_ref})
    doctors = [ref("Practitioner", pid) for pid in (person.family_doctor_id, person.second_doctor_id) if pid]
    return clean(
        {
            "resourceType": "Patient",
            "id": str(person.id),
            "meta": {"profile": [JP + "JP_Patient"]},
            "identifier": identifiers,
            "active": person.status.value != "moved",
            "name": _names(person.family_name, person.given_name, person.family_name_kana, person.given_name_kana),
            "telecom": _phone(person.phone or household.phone),
            "gender": GENDER[person.sex.value],
            "birthDate": day(person.birth_date),
            "deceasedBoolean": True if person.status.value == "deceased" else None,
            "address": [
                {
                    "use": "home",
                    "type": "physical",
                    "country": "JP",
                    "postalCode": household.postal_code,
                    "state": household.prefecture,
                    "city": household.municipality,
                    "line": [household.address_line, household.building],
                    "text": (
                        f"{household.prefecture}{household.municipality}{household.address_line} {household.building}"
                    ).strip(),
                }
            ],
            "generalPractitioner": doctors,
        }
    )


def _entry_meta(entry: ClinicalEntry, profile: str) -> dict:
    source = Source(entry.source)
    return {
        "profile": [JP + profile],
        "lastUpdated": instant(entry.updated_at),
        "tag": [
            {
                "system": SOURCE_SYSTEM,
                "code": source.value,
                "display": f"{label('source', source)}: {entry.source_detail}"
                if entry.source_detail
                else label("source", source),
            }
        ],
    }


def _code(entry: ClinicalEntry) -> dict:
    coding = (
        [{"system": CODE_SYSTEMS[entry.code_system], "code": entry.code}]
        if entry.code and entry.code_system in CODE_SYSTEMS
        else []
    )
    return {"coding": coding, "text": entry.text}


def clinically_confirmed(entry: ClinicalEntry) -> bool:
    return Source(entry.source) in (Source.doctor, Source.network)


def allergy(entry: ClinicalEntry) -> dict:
    error = entry.status == ClinicalStatus.entered_in_error
    verification = "entered-in-error" if error else ("confirmed" if clinically_confirmed(entry) else "unconfirmed")
    category = {"drug": "medication", "food": "food"}.get(entry.category)
    return clean(
        {
            "resourceType": "AllergyIntolerance",
            "id": str(entry.id),
            "meta": _entry_meta(entry, "JP_AllergyIntolerance"),
            "clinicalStatus": None
            if error
            else {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                        "code": "active" if entry.status == ClinicalStatus.active else "inactive",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                        "code": verification,
                    }
                ]
            },
            "category": [category] if category else [],
            "code": _code(entry),
            "patient": ref("Patient", entry.person_id),
            "recordedDate": day(entry.last_confirmed_on),
            "note": [{"text": entry.note}] if entry.note else [],
        }
    )


def condition(entry: ClinicalEntry) -> dict:
    error = entry.status == ClinicalStatus.entered_in_error
    ended = entry.status == ClinicalStatus.ended or entry.category in ("past", "surgery")
    verification = "entered-in-error" if error else ("confirmed" if clinically_confirmed(entry) else "provisional")
    return clean(
        {
            "resourceType": "Condition",
            "id": str(entry.id),
            "meta": _entry_meta(entry, "JP_Condition"),
            "clinicalStatus": None
            if error
            else {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "resolved" if ended else "active",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}
                ]
            },
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "problem-list-item",
                        }
                    ],
                    "text": label("category", entry.category),
                }
            ],
            "code": _code(entry),
            "subject": ref("Patient", entry.person_id),
            "recordedDate": day(entry.last_confirmed_on),
            "note": [{"text": entry.note}] if entry.note else [],
        }
    )


def medication(entry: ClinicalEntry) -> dict:
    status = {
        ClinicalStatus.active: "active",
        ClinicalStatus.ended: "stopped",
        ClinicalStatus.entered_in_error: "entered-in-error",
    }
    alerts = [code for flag, code in ((entry.is_anticoagulant, "anticoagulant"), (entry.is_insulin, "insulin")) if flag]
    return clean(
        {
            "resourceType": "MedicationStatement",
            "id": str(entry.id),
            "meta": _entry_meta(entry, "JP_MedicationStatement"),
            "extension": [{"url": HIGH_ALERT, "valueCode": code} for code in alerts],
            "status": status[ClinicalStatus(entry.status)],
            "medicationCodeableConcept": _code(entry),
            "subject": ref("Patient", entry.person_id),
            "dateAsserted": day(entry.last_confirmed_on),
            "dosage": [{"text": label("category", entry.category), "asNeededBoolean": entry.category == "as_needed"}],
            "note": [{"text": entry.note}] if entry.note else [],
        }
    )


BUILDERS = {ClinicalKind.allergy: allergy, ClinicalKind.condition: condition, ClinicalKind.medication: medication}
TYPE_OF_KIND = {
    ClinicalKind.allergy: "AllergyIntolerance",
    ClinicalKind.condition: "Condition",
    ClinicalKind.medication: "MedicationStatement",
}
KIND_OF_TYPE = {v: k for k, v in TYPE_OF_KIND.items()}


def clinical(entry: ClinicalEntry) -> dict:
    return BUILDERS[ClinicalKind(entry.kind)](entry)


def organization(institution: Institution) -> dict:
    provider = institution.kind in (
        InstitutionKind.hospital,
        InstitutionKind.clinic,
        InstitutionKind.imaging,
        InstitutionKind.laboratory,
    )
    return clean(
        {
            "resourceType": "Organization",
            "id": str(institution.id),
            "meta": {"profile": [JP + "JP_Organization"]},
            "active": institution.active,
            "name": institution.name,
            "alias": [institution.kana],
            "type": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                            "code": "prov" if provider else "other",
                        }
                    ],
                    "text": label("institution_kind", institution.kind),
                }
            ],
            "telecom": _phone(institution.phone, use="work"),
            "address": [
                {"use": "work", "country": "JP", "postalCode": institution.postal_code, "text": institution.address}
            ]
            if institution.address or institution.postal_code
            else [],
        }
    )


def practitioner(p: Practitioner) -> dict:
    kana_family, _, kana_given = p.kana.partition(" ")
    return clean(
        {
            "resourceType": "Practitioner",
            "id": str(p.id),
            "meta": {"profile": [JP + "JP_Practitioner"]},
            "active": p.active,
            "name": _names(p.family_name, p.given_name, kana_family, kana_given.strip()),
            "telecom": _phone(p.phone, use="work"),
        }
    )


def practitioner_role(p: Practitioner, institution: Institution | None) -> dict:
    return clean(
        {
            "resourceType": "PractitionerRole",
            "id": str(p.id),
            "meta": {"profile": [JP + "JP_PractitionerRole"]},
            "active": p.active,
            "practitioner": ref("Practitioner", p.id, p.full_name),
            "organization": ref("Organization", institution.id, institution.name) if institution else None,
            "code": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/practitioner-role", "code": "doctor"}]}
            ],
            "specialty": [{"text": p.specialty}] if p.specialty else [],
            "telecom": _phone(p.phone or (institution.phone if institution else ""), use="work"),
        }
    )


def related_person(contact: EmergencyContact) -> dict:
    kana_family, _, kana_given = contact.kana.partition(" ")
    family, _, given = contact.name.partition(" ")
    return clean(
        {
            "resourceType": "RelatedPerson",
            "id": str(contact.id),
            "active": True,
            "patient": ref("Patient", contact.person_id),
            "relationship": [
                {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "C"}],
                    "text": contact.relation or "緊急連絡先",
                }
            ],
            "name": _names(family, given.strip(), kana_family, kana_given.strip()),
            "telecom": [
                {**t, "rank": i + 1} for i, t in enumerate(_phone(contact.phone, contact.phone2, use="mobile"))
            ],
        }
    )


DOCTOR_ROLES = (("family", "かかりつけ医"), ("second", "専門医（二人主治医制）"))


def care_team(person: Person, doctors: dict[str, tuple[Practitioner, Institution | None]]) -> dict:
    """The family doctor and the second doctor (二人主治医制); the team's id is the patient's."""
    participants = []
    for key, title in DOCTOR_ROLES:
        if key in doctors:
            p, inst = doctors[key]
            participants.append(
                {
                    "role": [
                        {"coding": [{"system": "urn:tone-lifeline:fhir:care-team-role", "code": key}], "text": title}
                    ],
                    "member": ref("Practitioner", p.id, p.full_name),
                    "onBehalfOf": ref("Organization", inst.id, inst.name) if inst else None,
                }
            )
    return clean(
        {
            "resourceType": "CareTeam",
            "id": str(person.id),
            "status": "active",
            "name": "主治医（二人主治医制）",
            "subject": ref("Patient", person.id, person.full_name),
            "participant": participants,
        }
    )


def consent(c: Consent) -> dict:
    return clean(
        {
            "resourceType": "Consent",
            "id": str(c.id),
            "status": "inactive" if c.withdrawn_on else "active",
            "scope": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
            },
            "category": [
                {"coding": [{"system": "http://loinc.org", "code": "59284-0"}], "text": "救急医療情報の共有への同意"}
            ],
            "patient": ref("Patient", c.person_id),
            "dateTime": day(c.consented_on),
            "policyRule": {"text": "利根保健医療圏における救急医療情報の共有（加須市）"},
            "provision": {"type": "permit", "period": {"start": day(c.consented_on), "end": day(c.withdrawn_on)}},
            "sourceAttachment": None,
        }
    )


def coverage(person: Person) -> dict | None:
    if not (person.insurer_number or person.insurance_kind):
        return None
    ext = JP.replace("StructureDefinition/", "Extension/StructureDefinition/")
    return clean(
        {
            "resourceType": "Coverage",
            "id": str(person.id),
            "meta": {"profile": [JP + "JP_Coverage"]},
            "extension": [
                {"url": ext + url, "valueString": value}
                for url, value in (
                    ("JP_Coverage_InsuredPersonSymbol", person.insurance_symbol),
                    ("JP_Coverage_InsuredPersonNumber", person.insurance_number),
                    ("JP_Coverage_InsuredPersonSubNumber", person.insurance_branch),
                )
                if value
            ],
            "status": "active",
            "type": {"text": person.insurance_kind},
            "beneficiary": ref("Patient", person.id),
            "subscriberId": person.insurance_number,
            "payor": [
                {
                    "identifier": {"system": "urn:oid:1.2.392.100495.20.3.61", "value": person.insurer_number}
                    if person.insurer_number
                    else None,
                    "display": person.insurance_kind or person.insurer_number,
                }
            ],
        }
    )


def audit_event(event: AuditEvent) -> dict:
    outcome = "0" if event.outcome in ("ok", "genuine") else ("4" if event.outcome == "refused" else "8")
    return clean(
        {
            "resourceType": "AuditEvent",
            "id": str(event.seq),
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                "code": "rest",
                "display": event.action,
            },
            "action": "R",
            "recorded": instant(event.at),
            "outcome": outcome,
            "outcomeDesc": event.outcome,
            "purposeOfEvent": [{"text": event.purpose}] if event.purpose else [],
            "agent": [
                {
                    "type": {"text": event.actor_role},
                    "who": {"display": f"{event.actor_username} ({event.organisation})".strip()},
                    "requestor": True,
                    "network": {"address": event.ip, "type": "2"} if event.ip else None,
                }
            ],
            "source": {"observer": {"display": "利根ライフライン"}, "site": event.device},
            "entity": [{"what": ref("Patient", event.person_id), "description": event.fields}],
        }
    )


def encounter(transport, institution: Institution, person: Person) -> dict:
    """A crew's pre-arrival handoff: a planned emergency encounter at the receiving hospital."""
    return clean(
        {
            "resourceType": "Encounter",
            "id": str(transport.id),
            "meta": {
                "tag": [
                    {
                        "system": "urn:tone-lifeline:fhir:handoff",
                        "code": "acknowledged" if transport.acknowledged_at else "pending",
                    }
                ]
            },
            "identifier": [{"system": INCIDENT_SYSTEM, "value": transport.incident}] if transport.incident else [],
            "status": "planned",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "EMER",
                "display": "emergency",
            },
            "subject": ref("Patient", person.id),
            "serviceProvider": ref("Organization", institution.id, institution.name),
            "period": {"start": instant(transport.chosen_at)},
        }
    )


def operation_outcome(status: int, message: str, code: str = "processing") -> dict:
    severity = "error" if status >= 400 else "information"
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "diagnostics": message}]}
