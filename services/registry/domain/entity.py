"""An entity's stream: decisions (register, update, flag, clear) and the state they rest on.

``decide_*`` functions are pure: state and command in, events out. ``evolve``
folds one event into the state; the handler replays the stream through it.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from platform_core.errors import AlreadyExists, NotFound, RuleViolation, SchemaViolation
from platform_core.events import NewEvent

from .facts import FieldError, check_members_within_employees, check_public_sector_staffed, check_reason_given
from .vocabulary import FLAGS


def new_entity_id() -> str:
    return f"entity-{uuid.uuid4()}"


@dataclass(frozen=True)
class EntityState:
    entity_id: str
    version: int = 0
    facts: Mapping[str, Any] = field(default_factory=dict)
    flags: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # flag -> {duplicate_of, reason}

    @property
    def registered(self) -> bool:
        return self.version > 0


def evolve(state: EntityState, event_type: str, payload: Mapping[str, Any]) -> EntityState:
    version = state.version + 1
    if event_type == "EntityRegistered":
        facts = {k: v for k, v in payload.items() if k not in ("entity_id", "import_id")}
        return replace(state, version=version, facts=facts)
    if event_type == "EntityProfileUpdated":
        facts = dict(state.facts)
        facts.update({name: payload.get(name) for name in payload["changed"]})
        return replace(state, version=version, facts=facts)
    if event_type == "EntityFlagged":
        flags = dict(state.flags)
        flags[payload["flag"]] = {"duplicate_of": payload.get("duplicate_of"), "reason": payload["reason"]}
        return replace(state, version=version, flags=flags)
    if event_type == "EntityFlagCleared":
        flags = {k: v for k, v in state.flags.items() if k != payload["flag"]}
        return replace(state, version=version, flags=flags)
    if event_type == "EntityPersonalDataErased":
        return replace(state, version=version, facts={**state.facts, "personal_data": None})
    return replace(state, version=version)


def replay(entity_id: str, events: Iterable[tuple[str, Mapping[str, Any]]]) -> EntityState:
    state = EntityState(entity_id)
    for event_type, payload in events:
        state = evolve(state, event_type, payload)
    return state


def raise_first(errors: list[FieldError]) -> None:
    """Turn validation errors into one 422 naming the first field (and how many more there are)."""
    if errors:
        first = errors[0]
        more = f"（另有{len(errors) - 1}处错误）" if len(errors) > 1 else ""
        raise SchemaViolation(first.message + more, field=first.field, rule=first.rule)


def decide_register(entity_id: str, facts: Mapping[str, Any], import_id: str | None = None) -> list[NewEvent]:
    payload = {"entity_id": entity_id, **facts}
    if import_id is not None:
        payload["import_id"] = import_id
    return [NewEvent("EntityRegistered", payload)]


def decide_update(state: EntityState, changes: Mapping[str, Any],
                  persons: Mapping[str, Any] | None = None) -> list[NewEvent]:
    """``changes`` are the facts events carry in clear; ``persons``, when the entity's persons changed, is
    their sealed record (reference and hashes, platform_core.contracts.registry.SealedPersons)."""
    _require_registered(state)
    changed = sorted(name for name, value in changes.items() if state.facts.get(name) != value)
    if persons is not None:
        changes = {**changes, "personal_data": dict(persons)}
        changed = sorted([*changed, "personal_data"])
    if not changed:
        raise RuleViolation("资料无变化：所填字段与现有记录相同", field="changes")
    after = {**state.facts, **changes}
    errors: list[FieldError] = []
    check_reason_given(errors, after)
    check_public_sector_staffed(errors, after)
    check_members_within_employees(errors, after)
    raise_first(errors)
    payload = {"entity_id": state.entity_id, "changed": changed, **{name: changes[name] for name in changed}}
    return [NewEvent("EntityProfileUpdated", payload)]


def decide_flag(state: EntityState, flag: str, reason: str, duplicate: EntityState | None) -> list[NewEvent]:
    """三(二): market regulation weeds out shell, zombie and shadow enterprises; R1: they leave the baseline."""
    _require_registered(state)
    if flag not in FLAGS:
        raise SchemaViolation(f"flag：“{flag}”不是可选值（shell=空壳、zombie=僵尸、shadow=影子）", field="flag")
    if state.facts.get("kind") != "non_public_enterprise":
        raise RuleViolation("只有非公有制企业可标记为空壳、僵尸或影子企业（三(二)）", field="entity_id", rule="R1")
    if not reason.strip():
        raise SchemaViolation("reason：标记须说明理由", field="reason")
    if flag in state.flags:
        raise AlreadyExists(f"{state.entity_id} 已被标记为{FLAGS[flag]}", field="flag", rule="R1")
    duplicate_of = None
    if flag == "shadow":
        if duplicate is None or not duplicate.registered:
            raise SchemaViolation("duplicate_of：影子企业须指明其重复注册的企业（已登记的 entity_id）",
                                  field="duplicate_of", rule="R1")
        if duplicate.entity_id == state.entity_id:
            raise RuleViolation("duplicate_of：企业不能是自身的影子", field="duplicate_of", rule="R1")
        duplicate_of = duplicate.entity_id
    elif duplicate is not None:
        raise SchemaViolation("duplicate_of：只有影子企业指明重复注册的企业", field="duplicate_of")
    return [NewEvent("EntityFlagged", {"entity_id": state.entity_id, "flag": flag, "duplicate_of": duplicate_of,
                                      "reason": reason.strip()})]


def decide_clear_flag(state: EntityState, flag: str, reason: str) -> list[NewEvent]:
    _require_registered(state)
    if flag not in state.flags:
        raise RuleViolation(f"{state.entity_id} 没有“{FLAGS.get(flag, flag)}”标记可清除", field="flag", rule="R1")
    if not reason.strip():
        raise SchemaViolation("reason：清除标记须说明理由", field="reason")
    return [NewEvent("EntityFlagCleared", {"entity_id": state.entity_id, "flag": flag, "reason": reason.strip()})]


def _require_registered(state: EntityState) -> None:
    if not state.registered:
        raise NotFound(f"没有两新组织 {state.entity_id}", field="entity_id")


def decide_erase(state: EntityState, persons_ref: str | None, reason: str) -> list[NewEvent]:
    """PIPL art. 47: the entity's persons record is erased for good (its data key destroyed)."""
    _require_registered(state)
    if persons_ref is None:
        raise AlreadyExists(f"{state.entity_id} 的负责人、法定代表人等个人信息已删除", field="entity_id")
    return [NewEvent("EntityPersonalDataErased", {"entity_id": state.entity_id, "personal_data_ref": persons_ref,
                                                 "reason": reason})]
