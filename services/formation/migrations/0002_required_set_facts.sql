-- The facts formation needs to judge R2 (the required set), R9 (overdue) and survey-declared organizations
-- itself: employees, above scale, and the survey's 党组织情况. Old rows lack them, so the upstream projection
-- (registry.events + membership.events, group formation.upstream) is rebuilt from the topics' beginning.
ALTER TABLE known_entities ADD COLUMN employees INTEGER NOT NULL DEFAULT 0;
ALTER TABLE known_entities ADD COLUMN above_scale BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE known_entities ADD COLUMN declared_organization TEXT NOT NULL DEFAULT 'none';
TRUNCATE known_entities, pending_approvals, member_positions, member_counted_entities;
DELETE FROM consumer_offsets WHERE group_id = 'formation.upstream';
DELETE FROM processed_events WHERE group_id = 'formation.upstream';
