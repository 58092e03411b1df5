"""The projection as a pure fold over events: the state each entity's status is derived from.

The PostgreSQL projection loads the part of this state a batch touches, applies
the batch with ``CampaignState.apply`` and writes the changed rows back; the
offline re-derivation applies the whole log prefix in memory. Same code, same figures.

The state is keyed so that the result does not depend on how events of
different streams interleave (topics and partitions are consumed in any order):
every field is owned by exactly one kind of stream.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .status import Inputs

ENTITY_FACT_SKIP = ("entity_id", "import_id", "changed")
MEMBER_ADDED = ("MemberRegistered", "MemberDeveloped", "MemberRecruited")


@dataclass
class Member:
    entity_id: str
    standing: str
    active: bool = True


@dataclass
class FailedCheck:
    check_id: str
    organization_id: str
    check_kind: str
    checked_on: str
    entity_ids: tuple[str, ...]
    findings: tuple[str, ...]
    event_id: str


@dataclass
class CoverageSpan:
    """One stretch of time an organization covered an entity (recorded_at of the events, UTC).

    Kept so a deadline (R10 formation, 11-20) can be judged as of its end, not on the
    state now: covered at T when covered_from <= T and (covered_until is None or T < covered_until).
    Owned by the organization's stream, so the spans do not depend on how streams interleave.
    """

    mode: str
    covered_from: datetime
    formed_event_id: str
    covered_until: datetime | None = None
    ended_event_id: str | None = None

    def covers_at(self, moment: datetime) -> bool:
        return self.covered_from <= moment and (self.covered_until is None or moment < self.covered_until)


@dataclass
class PlanState:
    plan_id: str
    label: str
    target_date: str  # ISO date, as in the event
    responsible_role: str
    last_noted_on: str | None = None


@dataclass
class CampaignState:
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # entity stream
    approved: dict[str, str] = field(default_factory=dict)  # entity -> ledger unit (ledger streams)
    flags: dict[str, set[str]] = field(default_factory=dict)  # entity stream
    members: dict[str, Member] = field(default_factory=dict)  # member streams
    coverage: dict[str, dict[str, str]] = field(default_factory=dict)  # organization -> entity -> mode
    work: dict[str, set[str]] = field(default_factory=dict)  # entity -> assignment / mass organization ids
    tasks: dict[str, str] = field(default_factory=dict)  # entity -> task state (task streams)
    # Entities some membership event named (member streams): membership's count is authoritative for
    # them from then on, 0 included (R13); the survey's declared figures only count before that.
    member_named: set[str] = field(default_factory=set)
    # Entities some OrganizationFormed named (organization streams): formation's record supersedes the
    # survey's declared Party organization for them from then on, dissolution included.
    formation_named: set[str] = field(default_factory=set)
    # 工商联's member enterprises (三(二): 确保会员企业党组织覆盖率达标): per list (department and territory, a
    # verification stream) its latest submission and the members its parts named (the union of the parts)
    federation_lists: dict[str, tuple[int, frozenset[str]]] = field(default_factory=dict)
    failed_checks: list[FailedCheck] = field(default_factory=list)
    # 一企一策 / 一社一策 plans (R9), entity -> its plan's current state (plan streams); the to-do list of plans past
    # their target date reads them, no entity status rests on them
    plans: dict[str, "PlanState"] = field(default_factory=dict)
    # organization -> entity -> spans, oldest first (only when events come with their recorded_at)
    spans: dict[str, dict[str, list[CoverageSpan]]] = field(default_factory=dict)
    # What changed since the last flush (the PostgreSQL projection writes only these back).
    dirty: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    touched: set[str] = field(default_factory=set)  # entities whose status must be derived again
    _recorded_at: datetime | None = field(default=None, repr=False, compare=False)

    def apply(self, event_type: str, payload: Mapping[str, Any], event_id: str = "",
              recorded_at: datetime | None = None) -> None:
        handler = getattr(self, f"_on_{event_type}", None)
        if handler is not None:
            self._recorded_at = recorded_at
            handler(payload, event_id)

    # registry.events
    def _on_EntityRegistered(self, p, _):
        self.facts[p["entity_id"]] = {k: v for k, v in p.items() if k not in ENTITY_FACT_SKIP}
        self._mark("facts", p["entity_id"])

    def _on_EntityProfileUpdated(self, p, _):
        entity = p["entity_id"]
        if entity not in self.facts:
            raise KeyError(f"profile update of unknown entity {entity}")
        self.facts[entity].update({name: p[name] for name in p["changed"]})
        self._mark("facts", entity)

    def _on_EntityFlagged(self, p, _):
        self.flags.setdefault(p["entity_id"], set()).add(p["flag"])
        self._mark("flags", p["entity_id"])

    def _on_EntityFlagCleared(self, p, _):
        self.flags.setdefault(p["entity_id"], set()).discard(p["flag"])
        self._mark("flags", p["entity_id"])

    def _on_VerificationListImported(self, p, _):
        if p["department"] != "federation_commerce":
            return
        key = f"{p['department']}:{p.get('territory') or ''}"
        submission, members = self.federation_lists.get(key, (0, frozenset()))
        if p["submission"] < submission:
            return
        if p["submission"] > submission:  # a newer list replaces the earlier one
            self.touched.update(members)
            members = frozenset()
        members = members | set(p["member_entity_ids"])
        self.federation_lists[key] = (p["submission"], members)
        self.touched.update(members)
        self.dirty["federation_lists"].add(key)

    def federation_members(self) -> set[str]:
        return set().union(*(members for _, members in self.federation_lists.values()))

    def _on_LedgerApproved(self, p, _):
        for entity in p["entity_ids"]:
            if entity not in self.approved:
                self.approved[entity] = p["unit"]
                self._mark("approved", entity)

    # membership.events (R5: functional memberships never count; R13 transfers move one registration)
    def _member_added(self, p, _):
        self.members[p["member_id"]] = Member(p["entity_id"], p["standing"])
        self._named_by_membership(p["entity_id"])
        self._member_changed(p["member_id"], p["entity_id"])

    _on_MemberRegistered = _on_MemberDeveloped = _on_MemberRecruited = _member_added

    def _on_MemberRevealed(self, p, _):
        member = self._member(p["member_id"])
        self.touched.add(member.entity_id)
        self._named_by_membership(member.entity_id, p["entity_id"])
        member.entity_id = p["entity_id"]
        self._member_changed(p["member_id"], p["entity_id"])

    def _on_MemberConfirmed(self, p, _):
        member = self._member(p["member_id"])
        member.standing = "formal"
        self._member_changed(p["member_id"], member.entity_id)

    def _on_MemberTransferred(self, p, _):
        member = self._member(p["member_id"])
        self.touched.add(member.entity_id)
        self._named_by_membership(p["from_entity_id"], p["to_entity_id"])
        member.entity_id = p["to_entity_id"]
        self._member_changed(p["member_id"], p["to_entity_id"])

    # counted where they work: the registration stays, the member moves (MemberReleased moves nothing)
    _on_MemberWorkplaceChanged = _on_MemberTransferred

    def _on_MemberLeft(self, p, _):
        member = self._member(p["member_id"])
        member.active = False
        self._named_by_membership(member.entity_id)
        self._member_changed(p["member_id"], member.entity_id)

    # formation.events
    def _on_OrganizationFormed(self, p, event_id):
        covered = self.coverage.setdefault(p["organization_id"], {})
        for entity in p["entity_ids"]:
            covered[entity] = p["mode"]
            if entity not in self.formation_named:
                self.formation_named.add(entity)
                self.dirty["formation_named"].add(entity)
            self.touched.add(entity)
            if self._recorded_at is not None:
                spans = self.spans.setdefault(p["organization_id"], {}).setdefault(entity, [])
                if not spans or spans[-1].covered_until is not None:
                    spans.append(CoverageSpan(p["mode"], self._recorded_at, event_id))
        self._mark_org(p["organization_id"])

    def _uncover(self, p, event_id):
        covered = self.coverage.setdefault(p["organization_id"], {})
        for entity in p["entity_ids"]:
            covered.pop(entity, None)
            self.touched.add(entity)
            spans = self.spans.get(p["organization_id"], {}).get(entity)
            if self._recorded_at is not None and spans and spans[-1].covered_until is None:
                spans[-1].covered_until, spans[-1].ended_event_id = self._recorded_at, event_id
        self._mark_org(p["organization_id"])

    _on_OrganizationRestructured = _on_OrganizationDissolved = _uncover

    def _work(self, source: str, entity_ids: Iterable[str]) -> None:
        for entity in entity_ids:
            self.work.setdefault(entity, set()).add(source)
            self._mark("work", entity)

    def _on_InstructorAssigned(self, p, _):
        self._work(p["assignment_id"], p["entity_ids"])

    def _on_MassOrganizationFormed(self, p, _):
        self._work(p["mass_organization_id"], p["entity_ids"])

    def _on_InvestorEducationHeld(self, p, _):
        self._work(p["education_id"], p["entity_ids"])

    def _on_JointMemberDevelopmentStarted(self, p, _):
        self._work(p["arrangement_id"], p["entity_ids"])

    def _on_InstructorAssignmentEnded(self, p, _):
        """R6: an ended assignment work-covers no more (same stream as its start, so never overtakes it)."""
        for entity in p["entity_ids"]:
            self.work.setdefault(entity, set()).discard(p["assignment_id"])
            self._mark("work", entity)

    def _on_OrganizationClosed(self, p, _):
        self.tasks[p["entity_id"]] = "closed"
        self._mark("tasks", p["entity_id"])

    def _on_TaskReopened(self, p, _):
        self.tasks[p["entity_id"]] = p["state"]
        self._mark("tasks", p["entity_id"])

    def _on_OrganizationChecked(self, p, event_id):
        if not p["passed"]:
            self.failed_checks.append(FailedCheck(
                p["check_id"], p["organization_id"], p.get("check_kind", "acceptance"), str(p["checked_on"]),
                tuple(p["entity_ids"]), tuple(p.get("findings", ())), event_id))
            self.dirty["failed_checks"].add(p["check_id"])

    def _on_PlanCreated(self, p, _):
        previous = self.plans.get(p["entity_id"])
        self.plans[p["entity_id"]] = PlanState(p["plan_id"], p["label"], str(p["target_date"]), p["responsible_role"],
                                               previous.last_noted_on if previous else None)
        self.dirty["plans"].add(p["entity_id"])

    _on_PlanRevised = _on_PlanCreated  # the whole plan as revised; its notes stay

    def _on_PlanProgressNoted(self, p, _):
        plan = self.plans.get(p["entity_id"])
        if plan is None:
            raise KeyError(f"progress note of unknown plan {p['plan_id']}")
        noted_on = str(p["noted_on"])
        plan.last_noted_on = max(noted_on, plan.last_noted_on or noted_on)
        self.dirty["plans"].add(p["entity_id"])

    # helpers
    def _mark(self, table: str, entity: str) -> None:
        self.dirty[table].add(entity)
        self.touched.add(entity)

    def _mark_org(self, organization: str) -> None:
        self.dirty["coverage"].add(organization)

    def _named_by_membership(self, *entities: str) -> None:
        for entity in entities:
            if entity not in self.member_named:
                self.member_named.add(entity)
                self.dirty["member_named"].add(entity)
            self.touched.add(entity)

    def _member(self, member_id: str) -> Member:
        member = self.members.get(member_id)
        if member is None:
            raise KeyError(f"event for unknown member {member_id}")
        return member

    def _member_changed(self, member_id: str, entity: str) -> None:
        self.dirty["members"].add(member_id)
        self.touched.add(entity)

    # reading
    def all_inputs(self) -> dict[str, Inputs]:
        """Every registered entity's inputs (the in-memory path: replay, the offline re-derivation)."""
        return self.inputs_of(self.facts)

    def inputs_of(self, entities: Iterable[str]) -> dict[str, Inputs]:
        """The status inputs of these entities (those registered). Exact for an entity when the state holds
        everything its status rests on: its own rows, every member counted at it, every organization
        covering it, every 工商联 list naming it. A replay holds the whole campaign; the live projection
        loads that much for each batch (``ProjectionStore.load``)."""
        wanted = {entity for entity in entities if entity in self.facts}
        formal: dict[str, int] = defaultdict(int)
        probationary: dict[str, int] = defaultdict(int)
        for member in self.members.values():
            if member.active and member.entity_id in wanted:
                (formal if member.standing == "formal" else probationary)[member.entity_id] += 1
        federation = self.federation_members() & wanted
        organizations: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for organization, covered in self.coverage.items():
            for entity, mode in covered.items():
                if entity in wanted:
                    organizations[entity].append((organization, mode))
        return {
            entity: Inputs(
                facts=self.facts[entity], approved=entity in self.approved,
                flags=frozenset(self.flags.get(entity, ())), membership_named=entity in self.member_named,
                formal_members=formal[entity], probationary_members=probationary[entity],
                organizations=tuple(organizations[entity]), formation_named=entity in self.formation_named,
                work_sources=len(self.work.get(entity, ())), federation_member=entity in federation,
                task_state=self.tasks.get(entity))
            for entity in sorted(wanted)
        }


def covered_at(spans: Iterable[CoverageSpan], moment: datetime) -> bool:
    """Whether any of an entity's spans covers the moment (R10: the deadline's last instant)."""
    return any(span.covers_at(moment) for span in spans)
