"""Membership's own tables, bound to the service's schema."""

from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert

from platform_core.data_keys import key_table
from platform_core.db import quoted_schema


@dataclass(frozen=True)
class Tables:
    identities: sa.Table
    members: sa.Table
    functional: sa.Table
    growth: sa.Table
    entities: sa.Table
    releases: sa.Table
    organizations: sa.Table
    keys: sa.Table  # personal_data_keys: each member's wrapped data key (platform_core.data_keys)

    # The inserts of every registration, built once and given their values at execution: building a
    # statement per call (``insert().values(...)``) cost more client CPU than running it (docs/performance.md).
    @cached_property
    def insert_member(self) -> sa.Insert:
        return self.members.insert()

    @cached_property
    def insert_growth(self) -> sa.Insert:
        return pg_insert(self.growth).on_conflict_do_nothing()

    @cached_property
    def insert_identity(self) -> sa.Insert:
        """Returns the member id, or nothing when the identity's hash is registered already (R13)."""
        return pg_insert(self.identities).on_conflict_do_nothing().returning(self.identities.c.member_id)


def tables(schema: str) -> Tables:
    md = sa.MetaData(schema=quoted_schema(schema))
    return Tables(
        identities=sa.Table(
            "member_identities", md, sa.Column("member_id", sa.Text, primary_key=True),
            sa.Column("id_hash", sa.LargeBinary), sa.Column("id_number_sealed", sa.LargeBinary),
            sa.Column("name_sealed", sa.LargeBinary), sa.Column("created_at", sa.DateTime(timezone=True)),
            sa.Column("erased_at", sa.DateTime(timezone=True)), sa.Column("erasure_reason", sa.Text)),
        members=sa.Table(
            "members", md, sa.Column("member_id", sa.Text, primary_key=True), sa.Column("standing", sa.Text),
            sa.Column("active", sa.Boolean), sa.Column("way", sa.Text), sa.Column("admitted_on", sa.Date),
            sa.Column("entity_id", sa.Text), sa.Column("organization_id", sa.Text), sa.Column("version", sa.Integer),
            sa.Column("updated_at", sa.DateTime(timezone=True)), sa.Column("outside_organization", sa.Text)),
        functional=sa.Table(
            "functional_memberships", md, sa.Column("member_id", sa.Text, primary_key=True),
            sa.Column("organization_id", sa.Text, primary_key=True),
            sa.Column("added_at", sa.DateTime(timezone=True))),
        growth=sa.Table(
            "member_growth", md, sa.Column("event_id", sa.Uuid, primary_key=True), sa.Column("member_id", sa.Text),
            sa.Column("way", sa.Text), sa.Column("entity_id", sa.Text), sa.Column("business_date", sa.Date),
            sa.Column("period", sa.Text)),
        entities=sa.Table(
            "known_entities", md, sa.Column("entity_id", sa.Text, primary_key=True), sa.Column("kind", sa.Text),
            sa.Column("district_code", sa.Text), sa.Column("street_code", sa.Text), sa.Column("event_id", sa.Uuid),
            sa.Column("recorded_at", sa.DateTime(timezone=True))),
        releases=sa.Table(
            "member_releases", md, sa.Column("release_id", sa.Text, primary_key=True), sa.Column("member_id", sa.Text),
            sa.Column("moves", sa.Text), sa.Column("from_entity_id", sa.Text), sa.Column("to_entity_id", sa.Text),
            sa.Column("to_district_code", sa.Text), sa.Column("to_organization_id", sa.Text),
            sa.Column("to_outside_organization", sa.Text), sa.Column("released_on", sa.Date),
            sa.Column("expires_on", sa.Date), sa.Column("state", sa.Text),
            sa.Column("updated_at", sa.DateTime(timezone=True))),
        organizations=sa.Table(
            "known_organizations", md, sa.Column("organization_id", sa.Text, primary_key=True),
            sa.Column("mode", sa.Text), sa.Column("district_code", sa.Text),
            sa.Column("entity_ids", postgresql.ARRAY(sa.Text)), sa.Column("active", sa.Boolean),
            sa.Column("event_id", sa.Uuid), sa.Column("recorded_at", sa.DateTime(timezone=True))),
        keys=key_table(schema),
    )
