"""Payloads of the formation service's events on ``formation.events`` (docs/formation.md is the contract text).

docs/rules.md R2-R6, R8, R9, R12; the plan's 二(四) to 二(七). Projections (reporting) read
these payloads without lookups: every event that changes an entity's coverage
carries the ``entity_ids`` concerned, the formation ``mode`` and the
``organization_id``. Fields are only ever added (with an upcaster), never renamed.

Streams
- ``organization-<uuid>``: OrganizationFormed, OrganizationRestructured,
  OrganizationDissolved, AffiliationChanged, OrganizationChecked.
- ``task-<entity uuid>``: the campaign-board task (挂图作战) of one entity:
  OrganizationClosed (销号) and TaskReopened. A task exists for every baseline
  entity (derived from registry.events); its states open / organization_formed /
  checked are derived from the organization events, only closing and reopening
  are events of their own.
- ``workcoverage-<entity uuid>``: InstructorAssigned (one event per assignment,
  on the stream of the first entity it names; ``entity_ids`` lists all),
  InstructorAssignmentEnded (on its assignment's stream), MassOrganizationFormed,
  InvestorEducationHeld and JointMemberDevelopmentStarted (R6 work coverage, the
  four ways; the latter two on the stream of their first entity).
- ``plan-<entity uuid>``: the entity's 一企一策 / 一社一策 plan (R9): PlanCreated, PlanRevised,
  PlanProgressNoted. One plan per entity; it is fulfilled (not closed by an event) while the entity is
  organization-covered, and applies again if that organization is dissolved.
- ``zone-<uuid>``: GatheringZoneDeclared, a park, development zone or street of a district where 两新
  organizations gather (三(二)): each must set up a guidance station and a Party committee (R10b).
- ``milestone-<district code>-<key>`` (a district's) and ``milestone-<zone uuid>-<key>`` (a zone's):
  SetupMilestoneRecorded, once per milestone and scope (R10b).
- ``spotcheck-<uuid>``: SpotCheckDrawn, one event per district (and per part of a
  large district) of one draw, all appended together.

Events
- OrganizationFormed: an organization was formed (standalone: one entity with
  >= 3 formal members, R3; joint: entities with < 3 formal members each, >= 3
  together, with its grouping basis, R4; functional, R5). Entities in
  ``entity_ids`` become organization-covered from ``formed_on``.
  ``formal_members`` records the per-entity figure the R3/R4 check used.
  ``restructured_from`` names the joint organization an entity was split out of.
- OrganizationRestructured: entities (``entity_ids``) were split out of the joint
  organization ``organization_id`` into ``new_organization_id`` (a standalone
  organization whose OrganizationFormed is appended in the same transaction);
  ``remaining_entity_ids`` stay covered by the joint organization.
- OrganizationDissolved: ``entity_ids`` lose this organization's coverage from
  ``dissolved_on``.
- AffiliationChanged: the organization's affiliation (隶属关系, R8) changed from
  ``previous`` to ``affiliation``; ``reason`` is required when it departs from
  the derived one (``derived`` false). Coverage is unchanged.
- InstructorAssigned: an instructor (党建工作指导员) or first secretary (第一书记)
  was assigned to ``entity_ids`` (R6 work coverage from ``assigned_on``) and, from
  version 2, to guide the new organizations ``organization_ids`` (一对一/一对多;
  their entities are in ``entity_ids``). The person is named by a pseudonymous
  ``instructor_id``; the name stays in formation's own table.
- InstructorAssignmentEnded: the assignment ended on ``ended_on``: its source of
  work coverage is gone for ``entity_ids`` and its organizations lose the guidance.
- InvestorEducationHeld: 统战 or 工商联 educated the investors / persons in charge
  of ``entity_ids`` (出资人教育引导, R6 work coverage from ``held_on``).
- JointMemberDevelopmentStarted: a Party organization develops members for
  ``entity_ids`` (联合发展党员, R6 work coverage from ``started_on``).
- MassOrganizationFormed: a trade union, Youth League or Women's Federation
  organization was formed in the entity (R6 work coverage from ``formed_on``).
- OrganizationChecked: an acceptance check (检查验收), spot check (随机抽查) or
  look-back (回头看) of the organization: ``passed``, ``findings``, ``checked_on``
  (R12). A pass is followed by OrganizationClosed for each covered entity in the
  baseline; a fail by TaskReopened.
- OrganizationClosed: the entity's task is closed (销号, R9): it is
  organization-covered by ``organization_id`` and that organization passed the
  check ``check_id``.
- TaskReopened: the entity's task went back (failed check or spot check, the
  organization dissolved, or the entity was restructured into an organization not
  yet checked). ``state`` is the task's state after reopening.
- PlanCreated: the entity's plan: ``measures``, ``target_date``, the responsible person's ``responsible_role``
  and pseudonymous ``responsible_id`` (the name stays in formation's own table), ``label`` 一企一策 or
  一社一策 by the entity's kind, and the entity's scope (``district_code``, ``street_code``,
  ``ledger_unit``) so projections need no lookups.
- PlanRevised: the plan as revised (the whole plan, ``revision`` counting from 1) with the ``reason``.
- PlanProgressNoted: a progress note (``note``, ``noted_on``) appended to the plan.
- GatheringZoneDeclared: ``zone_id``, ``name``, ``zone_kind`` (development_zone, park, street), the
  ``district_code`` (and ``street_code`` for a street) and ``declared_on``: from then on the zone's setup
  milestones are on the district's checklist (R10b).
- SetupMilestoneRecorded: a setup milestone (``milestone``, a key of the calendar's setup milestones) of the
  district ``district_code`` or of its zone ``zone_id`` (with ``zone_name``) was done on ``done_on``, with its
  document: ``document_number`` (文号) and/or ``document_title``, optionally ``document_sha256`` (the file's hash);
  ``committee_kind`` (enterprise 企业党委 / combined 综合党委) for a Party committee; ``recorded_on`` the
  business date it was recorded.
- SpotCheckDrawn: the city's random spot check. For each district: the seed, its
  source (``checkpoint_root`` with the checkpoint id, or ``fixed_value`` recorded
  in advance), the algorithm name/version, the population (ordered entity ids of
  the district's closed tasks) and the sample. Anyone recomputes the sample:
  rank the population by SHA-256(seed || 0x1f || district_code || 0x1f ||
  entity_id) (UTF-8, hex digest ascending, ties by entity id) and take the first
  ``per_district``. A large population is split over ``parts`` events;
  ``population_size`` and ``population_sha256`` (SHA-256 of the ids joined by
  "\\n") cover the whole.
"""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ENTITY_ID = f"^entity-{UUID_PATTERN}$"
ORGANIZATION_ID = f"^organization-{UUID_PATTERN}$"
CHECK_ID = f"^check-{UUID_PATTERN}$"
PLAN_ID = f"^plan-{UUID_PATTERN}$"
PERSON_ID = f"^person-{UUID_PATTERN}$"
ZONE_ID = f"^zone-{UUID_PATTERN}$"
MILESTONE_KEY = r"^[a-z][a-z_]{1,39}$"
SPOT_CHECK_ID = f"^spotcheck-{UUID_PATTERN}$"

Mode = Literal["standalone", "joint", "functional"]
GroupingBasis = Literal["region", "industry", "park", "building", "market", "association", "leading_enterprise"]
OrganizationLevel = Literal["branch", "general_branch", "committee"]  # 支部 / 总支 / 党委
AffiliationKind = Literal["territorial", "supervising_department", "civil_affairs"]
CheckKind = Literal["acceptance", "spot_check", "look_back"]
TaskState = Literal["open", "organization_formed", "checked", "closed"]
ReopenReason = Literal["acceptance_check_failed", "spot_check_failed", "look_back_failed",
                       "organization_dissolved", "restructured"]
InstructorRole = Literal["instructor", "first_secretary"]
MassOrganizationKind = Literal["trade_union", "youth_league", "womens_federation"]
SeedSource = Literal["checkpoint_root", "fixed_value"]

EntityIds = Field(min_length=1, max_length=500)
Code6 = Field(pattern=r"^\d{6}$")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Affiliation(_Payload):
    """R8: the higher body an organization reports to."""

    kind: AffiliationKind
    unit: str = Field(min_length=1, max_length=80)  # a GB/T 2260 district/street code or a department code
    name: str = Field(min_length=1, max_length=200)


class _Coverage(_Payload):
    """What every coverage-changing event carries so projections need no lookups."""

    organization_id: str = Field(pattern=ORGANIZATION_ID)
    mode: Mode
    entity_ids: list[str] = EntityIds


class OrganizationFormed(_Coverage):
    name: str = Field(min_length=1, max_length=200)
    level: OrganizationLevel = "branch"
    district_code: str = Code6
    street_code: str | None = Field(default=None, pattern=r"^\d{9}$")
    formed_on: date
    grouping_basis: GroupingBasis | None = None  # joint only (R4)
    grouping_detail: str | None = Field(default=None, max_length=200)  # e.g. the park's or market's name
    formal_members: dict[str, int] = Field(default_factory=dict)  # entity id -> formal members used by R3/R4
    affiliation: Affiliation
    restructured_from: str | None = Field(default=None, pattern=ORGANIZATION_ID)


class OrganizationRestructured(_Coverage):
    """``entity_ids``: the entities split out; ``mode``: the joint organization's mode."""

    new_organization_id: str = Field(pattern=ORGANIZATION_ID)
    remaining_entity_ids: list[str] = Field(default_factory=list)
    restructured_on: date
    reason: str = Field(min_length=1, max_length=500)


class OrganizationDissolved(_Coverage):
    dissolved_on: date
    reason: str = Field(min_length=1, max_length=500)


class AffiliationChanged(_Coverage):
    previous: Affiliation
    affiliation: Affiliation
    derived: bool  # True when the new affiliation is the one R8 derives
    reason: str = Field(min_length=1, max_length=500)
    changed_on: date


ASSIGNMENT_ID = f"^assignment-{UUID_PATTERN}$"


class _InstructorAssignedV1(_Payload):
    assignment_id: str = Field(pattern=ASSIGNMENT_ID)
    instructor_id: str = Field(pattern=f"^instructor-{UUID_PATTERN}$")
    role: InstructorRole
    entity_ids: list[str] = EntityIds
    assigned_on: date
    assigned_by: str = Field(min_length=1, max_length=80)  # the assigning department kind


class InstructorAssigned(_InstructorAssignedV1):
    """Version 2 adds ``organization_ids``: the new organizations the person guides (一对一/一对多, R6); their
    entities are in ``entity_ids`` too. Version 1 events are upcast with an empty list."""

    organization_ids: list[str] = Field(default_factory=list, max_length=100)


class InstructorAssignmentEnded(_Payload):
    """On the assignment's stream: from ``ended_on`` it work-covers ``entity_ids`` and guides
    ``organization_ids`` no more (R6)."""

    assignment_id: str = Field(pattern=ASSIGNMENT_ID)
    instructor_id: str = Field(pattern=f"^instructor-{UUID_PATTERN}$")
    role: InstructorRole
    entity_ids: list[str] = EntityIds
    organization_ids: list[str] = Field(default_factory=list, max_length=100)
    ended_on: date
    reason: str = Field(min_length=1, max_length=500)


class InvestorEducationHeld(_Payload):
    """出资人教育引导 (R6, 三(二)): the investors / persons in charge of ``entity_ids`` were educated by 统战 or 工商联
    (``recorded_by``); work coverage from ``held_on``."""

    education_id: str = Field(pattern=f"^education-{UUID_PATTERN}$")
    entity_ids: list[str] = EntityIds
    held_on: date
    topic: str = Field(min_length=1, max_length=200)
    recorded_by: str = Field(min_length=1, max_length=80)


class JointMemberDevelopmentStarted(_Payload):
    """联合发展党员 (R6): a Party organization (``organization_id`` when formed in the campaign, else only its
    ``organization_name``) develops members for ``entity_ids``; work coverage from ``started_on``."""

    arrangement_id: str = Field(pattern=f"^jointdev-{UUID_PATTERN}$")
    entity_ids: list[str] = EntityIds
    started_on: date
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)
    organization_name: str = Field(min_length=1, max_length=200)
    recorded_by: str = Field(min_length=1, max_length=80)


class MassOrganizationFormed(_Payload):
    mass_organization_id: str = Field(pattern=f"^massorg-{UUID_PATTERN}$")
    kind: MassOrganizationKind
    entity_ids: list[str] = Field(min_length=1, max_length=1)
    name: str = Field(min_length=1, max_length=200)
    formed_on: date


class OrganizationChecked(_Coverage):
    check_id: str = Field(pattern=CHECK_ID)
    check_kind: CheckKind = "acceptance"
    passed: bool
    findings: list[str] = Field(default_factory=list, max_length=50)
    checked_on: date
    inspector_unit: str = Field(min_length=1, max_length=80)
    spot_check_id: str | None = Field(default=None, pattern=SPOT_CHECK_ID)


class OrganizationClosed(_Coverage):
    """On ``task-<entity uuid>``: ``entity_ids`` is that one entity."""

    entity_id: str = Field(pattern=ENTITY_ID)
    check_id: str = Field(pattern=CHECK_ID)
    closed_on: date


class TaskReopened(_Coverage):
    """On ``task-<entity uuid>``; ``organization_id`` is the organization whose check/dissolution reopened it."""

    entity_id: str = Field(pattern=ENTITY_ID)
    reason: ReopenReason
    state: TaskState
    check_id: str | None = Field(default=None, pattern=CHECK_ID)
    findings: list[str] = Field(default_factory=list, max_length=50)
    reopened_on: date


MEASURE_MAX, MEASURES_MAX, ROLE_MAX, NOTE_MAX, REASON_MAX = 200, 20, 50, 500, 500


class _PlanScope(_Payload):
    """What every plan event carries: the plan, its entity and the entity's scope (district, street, ledger unit)."""

    plan_id: str = Field(pattern=PLAN_ID)
    entity_id: str = Field(pattern=ENTITY_ID)
    entity_kind: Literal["non_public_enterprise", "social_organization", "rural_entity"]
    district_code: str = Code6
    street_code: str | None = Field(default=None, pattern=r"^\d{9}$")
    ledger_unit: str | None = Field(default=None, max_length=80)


class _PlanContent(_PlanScope):
    label: Literal["一企一策", "一社一策"]
    measures: list[str] = Field(min_length=1, max_length=MEASURES_MAX)
    target_date: date
    responsible_id: str = Field(pattern=PERSON_ID)
    responsible_role: str = Field(min_length=1, max_length=ROLE_MAX)


class PlanCreated(_PlanContent):
    created_on: date


class PlanRevised(_PlanContent):
    revision: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=REASON_MAX)
    revised_on: date


class PlanProgressNoted(_PlanScope):
    note: str = Field(min_length=1, max_length=NOTE_MAX)
    noted_on: date


ZoneKind = Literal["development_zone", "park", "street"]
CommitteeKind = Literal["enterprise", "combined"]  # 企业党委 / 综合党委
ZONE_NAME_MAX, DOCUMENT_NUMBER_MAX, DOCUMENT_TITLE_MAX = 100, 60, 200


class GatheringZoneDeclared(_Payload):
    zone_id: str = Field(pattern=ZONE_ID)
    district_code: str = Code6
    street_code: str | None = Field(default=None, pattern=r"^\d{9}$")
    name: str = Field(min_length=1, max_length=ZONE_NAME_MAX)
    zone_kind: ZoneKind
    declared_on: date


class SetupMilestoneRecorded(_Payload):
    milestone: str = Field(pattern=MILESTONE_KEY)
    district_code: str = Code6
    zone_id: str | None = Field(default=None, pattern=ZONE_ID)
    zone_name: str | None = Field(default=None, max_length=ZONE_NAME_MAX)
    done_on: date
    document_number: str | None = Field(default=None, min_length=1, max_length=DOCUMENT_NUMBER_MAX)
    document_title: str | None = Field(default=None, min_length=1, max_length=DOCUMENT_TITLE_MAX)
    document_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    committee_kind: CommitteeKind | None = None
    recorded_on: date


class SpotCheckDrawn(_Payload):
    spot_check_id: str = Field(pattern=SPOT_CHECK_ID)
    district_code: str = Code6
    seed: str = Field(min_length=1, max_length=200)
    seed_source: SeedSource
    checkpoint_id: int | None = Field(default=None, ge=1)  # checkpoint_root only
    checkpoint_tree_size: int | None = Field(default=None, ge=0)
    algorithm: Literal["sha256-rank"] = "sha256-rank"
    algorithm_version: int = Field(default=1, ge=1)
    per_district: int = Field(ge=1)
    drawn_on: date
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)
    population: list[str] = Field(default_factory=list, max_length=1200)  # this part's slice, sorted
    population_size: int = Field(ge=0)
    population_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    sample: list[str] = Field(default_factory=list)  # the whole district's sample, in rank order


EVENTS = {
    "OrganizationFormed": OrganizationFormed, "OrganizationRestructured": OrganizationRestructured,
    "OrganizationDissolved": OrganizationDissolved, "AffiliationChanged": AffiliationChanged,
    "InstructorAssigned": InstructorAssigned, "MassOrganizationFormed": MassOrganizationFormed,
    "InstructorAssignmentEnded": InstructorAssignmentEnded, "InvestorEducationHeld": InvestorEducationHeld,
    "JointMemberDevelopmentStarted": JointMemberDevelopmentStarted,
    "OrganizationChecked": OrganizationChecked, "OrganizationClosed": OrganizationClosed,
    "TaskReopened": TaskReopened, "SpotCheckDrawn": SpotCheckDrawn,
    "PlanCreated": PlanCreated, "PlanRevised": PlanRevised, "PlanProgressNoted": PlanProgressNoted,
    "GatheringZoneDeclared": GatheringZoneDeclared, "SetupMilestoneRecorded": SetupMilestoneRecorded,
}


def _instructor_v1_to_v2(payload: dict) -> dict:
    return {**payload, "organization_ids": []}


def register(registry) -> None:
    for event_type, model in EVENTS.items():
        registry.register(event_type, 1, _InstructorAssignedV1 if event_type == "InstructorAssigned" else model)
    registry.register("InstructorAssigned", 2, InstructorAssigned)
    registry.upcaster("InstructorAssigned", 1)(_instructor_v1_to_v2)
