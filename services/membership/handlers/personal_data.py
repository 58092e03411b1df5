"""Reading a member's personal data: scope over the member's CURRENT entity, and an access event, in one
transaction with the read (no data leaves without its PersonalDataAccessed committed)."""

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.auth import Forbidden, Principal
from platform_core.errors import Gone, NotFound
from platform_core.event_store import AppendResult, EventStore
from platform_core.events import Command, Decision

from ..adapters.personal_data import PersonalDataVault, reveal_identity
from ..adapters.read_models import district_of
from ..adapters.tables import Tables
from ..domain.access import access_event


class PersonalDataReads:
    def __init__(self, store: EventStore, tables: Tables, vault: PersonalDataVault):
        self.store, self.tables, self.vault = store, tables, vault

    def read(self, principal: Principal, member_id: str, reason: str) -> tuple[dict[str, str], AppendResult]:
        """The member's name and identity number, for an organization department covering where they work."""
        principal.require("read.personal", target=member_id)
        access_id = f"access-{uuid.uuid4()}"
        m, i, k = self.tables.members, self.tables.identities, self.tables.keys
        found = {}

        def decide(conn: Connection) -> Decision:
            row = conn.execute(sa.select(m.c.member_id, m.c.entity_id, i.c.name_sealed, i.c.id_number_sealed,
                                         i.c.erased_at, k.c.master_key_id, k.c.wrapped_key)
                               .join(i, i.c.member_id == m.c.member_id)
                               .outerjoin(k, k.c.subject_id == m.c.member_id)
                               .where(m.c.member_id == member_id)).first()
            if row is None:
                raise NotFound(f"member {member_id} does not exist", field="member_id")
            district = district_of(conn, self.tables, row.entity_id)
            if not principal.covers(district):
                where = district or "an entity not yet known to membership"
                raise Forbidden(f"{principal.department} may read personal data only of members working in territory "
                                f"{principal.territory}; member {member_id} works in {where}",
                                principal=principal, permission="read.personal", target=member_id)
            if row.erased_at is not None:
                raise Gone(f"the personal data of member {member_id} was erased (PIPL art. 47); nothing to read",
                           field="member_id")
            found["row"] = row
            return Decision([access_event(access_id, member_id, row.entity_id, district, reason)], access_id, 0)

        def reveal(conn: Connection, result: AppendResult) -> dict[str, str]:
            return reveal_identity(dict(found["row"]._mapping), self.vault)

        executed = self.store.execute(Command(principal.actor(), ""), decide, reveal)
        return executed.answer, executed.result
