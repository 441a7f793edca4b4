"""Compare a parsed extract with the registry, then apply the differences.

Matching is by the registry's own keys: households by 世帯番号 (``Household.external_ref``),
persons by 宛名番号 (``Person.external_ref``). Only fields with a non-blank cell are compared,
so a column the extract leaves empty never wipes what staff or residents entered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, select

from app.core.models import Actor
from app.history import service as history
from app.households import service as households
from app.households.models import Household, HouseholdUpdate
from app.imports.columns import header_of
from app.imports.parser import HouseholdGroup, Parsed, PersonRow, Problem
from app.persons import flows
from app.persons import service as persons
from app.persons.models import Person, PersonUpdate

_CHUNK = 500  # keeps IN (...) lists well below SQLite's bound-parameter limit


@dataclass
class PersonPlan:
    row: PersonRow
    existing: Person | None
    changes: list = field(default_factory=list)


@dataclass
class HouseholdPlan:
    group: HouseholdGroup
    existing: Household | None
    changes: list = field(default_factory=list)
    persons: list[PersonPlan] = field(default_factory=list)


@dataclass
class Plan:
    households: list[HouseholdPlan]
    problems: list[Problem]

    def counts(self) -> dict[str, int]:
        people = [p for h in self.households for p in h.persons]
        return {
            "created": sum(p.existing is None for p in people),
            "updated": sum(bool(p.existing and p.changes) for p in people),
            "unchanged": sum(bool(p.existing and not p.changes) for p in people),
            "households_created": sum(h.existing is None for h in self.households),
            "households_updated": sum(bool(h.existing and h.changes) for h in self.households),
        }


def _by_ref(session: Session, model, refs: list[str]) -> dict:
    found = {}
    for i in range(0, len(refs), _CHUNK):
        for obj in session.exec(select(model).where(model.external_ref.in_(refs[i : i + _CHUNK]))):
            found[obj.external_ref] = obj
    return found


def _provided(data, names) -> dict:
    return {name: getattr(data, name) for name in names}


def _changes(existing, data, names) -> list:
    return history.diff(existing.model_dump(), _provided(data, names), names)


def make(*, session: Session, parsed: Parsed) -> Plan:
    """What applying ``parsed`` would do, and the problems only the database can reveal."""
    known_households = _by_ref(session, Household, [g.ref for g in parsed.groups])
    known_persons = _by_ref(session, Person, [r.ref for g in parsed.groups for r in g.rows])
    homes = {h.id: h for h in known_households.values()}
    for person in known_persons.values():
        if person.household_id not in homes:
            homes[person.household_id] = session.get(Household, person.household_id)
    column = parsed.headers.get("household_ref") or header_of("household_ref")
    plans, problems, adopted = [], [], set()
    for group in parsed.groups:
        household = known_households.get(group.ref)
        members = [known_persons.get(row.ref) for row in group.rows]
        if household is None:
            # Members registered by hand before the registry was linked: take over their household.
            unlinked = {p.household_id for p in members if p and homes[p.household_id].external_ref is None}
            if len(unlinked) == 1 and (home_id := unlinked.pop()) not in adopted:
                household = homes[home_id]
                adopted.add(home_id)
        fields = sorted(group.provided)
        plan = HouseholdPlan(group, household, _changes(household, group.data, fields) if household else [])
        for row, person in zip(group.rows, members):
            if person is not None and (household is None or person.household_id != household.id):
                home = homes[person.household_id]
                problems.append(
                    Problem(
                        row.line,
                        column,
                        "この宛名番号の方は別の世帯（%(other)s）に登録されています。一括取込では世帯を移しません",
                        {"other": home.external_ref or f"ID {home.id}"},
                    )
                )
                continue
            plan.persons.append(
                PersonPlan(row, person, _changes(person, row.data, sorted(row.provided)) if person else [])
            )
        plans.append(plan)
    return Plan(plans, problems)


def apply(*, session: Session, plan: Plan, actor: Actor, progress: Callable[[int], None]) -> None:
    """Create and update through the domain services (history kept), without committing."""
    done = 0
    for item in plan.households:
        group = item.group
        household = item.existing
        if household is None:
            household = households.create(session=session, actor=actor, data=group.data, commit=False)
        elif item.changes:
            data = HouseholdUpdate.model_validate(
                _provided(group.data, group.provided) | {"version": household.version}
            )
            households.update(session=session, actor=actor, household_id=household.id, data=data, commit=False)
        for person_plan in item.persons:
            row, person = person_plan.row, person_plan.existing
            if person is None:
                persons.create(session=session, actor=actor, household_id=household.id, data=row.data, commit=False)
            elif person_plan.changes:
                data = PersonUpdate.model_validate(_provided(row.data, row.provided) | {"version": person.version})
                flows.update_person(session=session, actor=actor, person_id=person.id, data=data, commit=False)
            done += 1
            progress(done)
