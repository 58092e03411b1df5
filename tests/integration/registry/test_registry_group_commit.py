"""The registry's real routes with group commit on (CAMPAIGN_GROUP_COMMIT_MAX > 1): registrations that arrive
together are written in one transaction, and each answer is the one it would have had alone: a new entity,
a duplicate code's 409 naming the first, a repeated idempotency key's replay."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from platform_core.envelope import Actor
from platform_core.errors import RuleViolation
from platform_core.events import Command, Decision
from platform_core.metrics import GROUP_COMMIT_COMMANDS
from registry_api_support import count, enterprise, registry_app, token

JIANGAN = token("district_org", "420102")


@pytest.fixture(scope="module")
def grouped_app(settings, engine):
    with registry_app(settings, engine, group_commit_max=32, group_commit_executing=1) as (client, store):
        yield client, store, store.schema


def test_registrations_arriving_together_commit_as_one_group_with_their_own_answers(grouped_app, engine):
    client, store, schema = grouped_app
    group = store._group_for(store.begin)
    grouped_before = GROUP_COMMIT_COMMANDS.labels(service=store.schema)._sum.get()
    duplicate, twin = enterprise(), enterprise()
    requests = ([(enterprise(), None) for _ in range(6)] + [(duplicate, None)] * 3
                + [(twin, "twin-key")] * 2)
    released = threading.Event()

    def hold_the_group(conn) -> Decision:
        # The leader's own command waits in its transaction until every request is queued behind it.
        deadline = time.monotonic() + 30
        while len(group._queue) < len(requests) and time.monotonic() < deadline:
            time.sleep(0.005)
        released.set()
        raise RuleViolation("the holder writes nothing", field="holder")

    def post(request) -> tuple[int, dict, str | None]:
        body, key = request
        headers = dict(JIANGAN, **({"Idempotency-Key": key} if key else {}))
        answer = client.post("/entities", json=body, headers=headers)
        return answer.status_code, answer.json(), answer.headers.get("Idempotent-Replayed")

    with ThreadPoolExecutor(max_workers=len(requests) + 1) as pool:
        holder = pool.submit(store.execute, Command(Actor(department="city_org", user="t"), "holder"),
                             hold_the_group, transaction=store.begin)
        while not group._executing:
            time.sleep(0.001)
        answers = list(pool.map(post, requests))
        with pytest.raises(RuleViolation):
            holder.result(timeout=60)
    assert released.is_set()
    assert GROUP_COMMIT_COMMANDS.labels(service=store.schema)._sum.get() - grouped_before == len(requests)

    statuses = [status for status, _, _ in answers]
    assert statuses[:6] == [201] * 6
    assert sorted(statuses[6:9]) == [201, 409, 409]
    refused = [body for status, body, _ in answers[6:9] if status == 409]
    first = next(body for status, body, _ in answers[6:9] if status == 201)
    assert all(first["entity_id"] in body["message"] and body["field"] == "uscc" for body in refused), refused
    assert statuses[9:] == [201, 201]
    assert sorted(replayed or "" for _, _, replayed in answers[9:]) == ["", "true"]
    assert answers[9][1]["entity_id"] == answers[10][1]["entity_id"]
    for body in (duplicate, twin):
        assert count(engine, schema, "entities", f"uscc = '{body['uscc']}'") == 1
        assert count(engine, schema, "events", f"payload->>'uscc' = '{body['uscc']}'") == 1
    assert count(engine, schema, "entities") == 8
