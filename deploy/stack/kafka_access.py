"""Kafka authorization in the local broker: which principal may do what (docs/security.md, "Kafka").

StandardAuthorizer with ``allow.everyone.if.no.acl.found=false``: what no ACL allows is refused.
A relay writes its service's topic only; a consumer reads the topics it projects, in consumer
groups named with its prefix, and may publish to the dead-letter topic; the reporting app reads
every topic (as-of replays, no group). The admin (topic set-up, tests, benchmarks), the broker and
the controller are super users. ACLs are applied with AclCommand over the admin's connection;
``<run>/kafka/acls.json`` remembers what was applied per cluster id, so an unchanged table costs
nothing on `up` and a row removed from it removes its ACLs.
"""

import concurrent.futures
import dataclasses
import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Set, Tuple

from .kafka_auth import client_properties
from .platform_services import EVENT_TOPICS, INTAKE_DEPARTMENTS, INTAKE_SERVICES, SERVICES
from .processes import KAFKA_ADMIN
from .settings import Settings, StackError
from .system import say, tail_text

DEAD_LETTER_TOPIC = "platform.dead-letter"


@dataclasses.dataclass(frozen=True)
class Access:
    writes: Tuple[str, ...] = ()  # topics it publishes to (a relay: its service's topic)
    reads: Tuple[str, ...] = ()  # topics it consumes
    group_prefixes: Tuple[str, ...] = ()  # consumer groups it may join (prefixed ACLs)
    dead_letters: bool = False  # may publish unusable messages to platform.dead-letter
    describes: Tuple[str, ...] = ()  # topics whose partitions and end offsets it may see, no records


# Principal -> access; a principal of deploy/stack/processes.py without a row may log in and nothing else
# (the HTTP apps' readiness check asks for the cluster's description only).
KAFKA_ACCESS = {
    **{f"{service.name}-relay": Access(writes=(service.topic,)) for service in SERVICES},
    # membership's projections: where entities lie (registry) and which organizations exist (formation)
    "membership-consumer": Access(reads=("registry.events", "formation.events"), group_prefixes=("membership.",),
                                  dead_letters=True),
    "formation-consumer": Access(reads=("registry.events", "membership.events", "reporting.events"),
                                 group_prefixes=("formation.",), dead_letters=True),
    "reporting-consumer": Access(reads=EVENT_TOPICS, group_prefixes=("reporting-audit-log",), dead_letters=True),
    "reporting-processor": Access(reads=EVENT_TOPICS, group_prefixes=("reporting-projections",),
                                  dead_letters=True),
    # the detectors' signals (docs/detectors.md)
    "reporting-signals": Access(reads=EVENT_TOPICS, group_prefixes=("reporting-signals",), dead_letters=True),
    "reporting": Access(reads=EVENT_TOPICS, dead_letters=True),
    # formation's app: before refusing on projected facts it compares its projection with the topics' ends
    "formation": Access(describes=("registry.events", "membership.events")),
}
# The Kafka intake (docs/intake.md): a department's system writes its own intake topic only, and reads its own
# outcomes only (they carry the answers, persons included); each service with an intake reads every intake
# topic in its group and publishes each outcome to its department's results topic.
INTAKE_TOPICS = tuple(d.topic for d in INTAKE_DEPARTMENTS)
RESULTS_TOPICS = tuple(d.results_topic for d in INTAKE_DEPARTMENTS)
for _department in INTAKE_DEPARTMENTS:
    KAFKA_ACCESS[_department.kafka_principal] = Access(writes=(_department.topic,),
                                                       reads=(_department.results_topic,))
for _service in INTAKE_SERVICES:
    _consumer = KAFKA_ACCESS.get(f"{_service}-consumer", Access())
    KAFKA_ACCESS[f"{_service}-consumer"] = dataclasses.replace(
        _consumer, reads=(*_consumer.reads, *INTAKE_TOPICS), writes=(*_consumer.writes, *RESULTS_TOPICS),
        group_prefixes=(*_consumer.group_prefixes, f"{_service}."), dead_letters=True)

# (principal, resource type, resource name, pattern type, operation)
Binding = Tuple[str, str, str, str, str]


def bindings() -> Set[Binding]:
    wanted: Set[Binding] = set()
    for principal, access in KAFKA_ACCESS.items():
        if principal == KAFKA_ADMIN:
            raise StackError("the admin is a super user; it needs no ACLs")
        writes = (*access.writes, *((DEAD_LETTER_TOPIC,) if access.dead_letters else ()))
        for topic in writes:
            wanted |= {(principal, "topic", topic, "literal", op) for op in ("Write", "Describe")}
        if writes:  # producers are idempotent (acks=all, enable_idempotence)
            wanted.add((principal, "cluster", "kafka-cluster", "literal", "IdempotentWrite"))
        for topic in access.reads:
            wanted |= {(principal, "topic", topic, "literal", op) for op in ("Read", "Describe")}
        for topic in access.describes:
            wanted.add((principal, "topic", topic, "literal", "Describe"))
        for prefix in access.group_prefixes:
            wanted.add((principal, "group", prefix, "prefixed", "Read"))
    return wanted


def acl_command_batches(selected: Set[Binding]) -> List[List[str]]:
    """AclCommand arguments, few invocations: one per (resource kind and pattern, principals, operations),
    naming every resource that those principals get exactly those operations on."""
    per_resource: Dict[Tuple[str, str, str], Dict[str, Set[str]]] = defaultdict(lambda: defaultdict(set))
    for principal, kind, name, pattern, operation in selected:
        per_resource[(kind, name, pattern)][principal].add(operation)
    batches: Dict[Tuple[str, str, frozenset, frozenset], List[str]] = defaultdict(list)
    for (kind, name, pattern), principals in per_resource.items():
        by_operations: Dict[frozenset, Set[str]] = defaultdict(set)
        for principal, operations in principals.items():
            by_operations[frozenset(operations)].add(principal)
        for operations, who in by_operations.items():
            batches[(kind, pattern, frozenset(who), operations)].append(name)
    commands = []
    for (kind, pattern, who, operations), names in sorted(batches.items(), key=lambda item: repr(item[0])):
        arguments = [a for p in sorted(who) for a in ("--allow-principal", f"User:{p}")]
        arguments += [a for op in sorted(operations) for a in ("--operation", op)]
        if kind == "cluster":
            arguments.append("--cluster")
        else:
            arguments += [a for name in sorted(names) for a in (f"--{kind}", name)]
        commands.append(arguments + ["--resource-pattern-type", pattern])
    return commands


def _acls_file(settings: Settings) -> Path:
    return settings.kafka_dir / "acls.json"


def applied_bindings(settings: Settings, cluster_id: str) -> Set[Binding]:
    try:
        known = json.loads(_acls_file(settings).read_text())
    except (OSError, ValueError):
        return set()
    return {tuple(b) for b in known.get("bindings", [])} if known.get("cluster_id") == cluster_id else set()


def _remember(settings: Settings, cluster_id: str, applied: Set[Binding]) -> None:
    _acls_file(settings).write_text(json.dumps({"cluster_id": cluster_id, "bindings": sorted(applied)},
                                               indent=1) + "\n")


def ensure_acls(settings: Settings, java_tool, cluster_id: str) -> None:
    """Add the ACLs the table wants and the broker lacks; remove those the table no longer wants."""
    applied, wanted = applied_bindings(settings, cluster_id), bindings()
    add, remove = wanted - applied, applied - wanted
    if not add and not remove:
        return
    config = client_properties(settings, KAFKA_ADMIN)
    base = ["--bootstrap-server", settings.kafka_bootstrap, "--command-config", str(config)]
    runs = [[*base, action, *(["--force"] if action == "--remove" else []), *arguments]
            for action, selected in (("--add", add), ("--remove", remove))
            for arguments in acl_command_batches(selected)]
    # A JVM start each: three at a time (the first `up` of a run folder runs about a dozen).
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda arguments: java_tool("kafka.admin.AclCommand", *arguments), runs))
    for arguments, result in zip(runs, results):
        if result.returncode != 0:
            raise StackError(f"kafka: AclCommand {' '.join(arguments[4:])} failed:\n"
                             f"{tail_text(result.stdout + result.stderr)}")
    _remember(settings, cluster_id, wanted)
    say(f"kafka: ACLs up to date ({len(add)} added, {len(remove)} removed)")
