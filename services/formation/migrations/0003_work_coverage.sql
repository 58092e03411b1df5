-- R6: a source of work coverage may end (an instructor's assignment); ended rows stay for history.
ALTER TABLE work_coverage ADD COLUMN until DATE;

-- R6: the instructor roster (党建工作指导员 / 第一书记), with the end of each assignment and the new
-- organizations each one guides (一对一/一对多).
CREATE TABLE instructor_assignments (
    assignment_id    TEXT PRIMARY KEY,
    instructor_id    TEXT NOT NULL,
    role             TEXT NOT NULL,
    stream_id        TEXT NOT NULL,
    entity_ids       TEXT[] NOT NULL,
    organization_ids TEXT[] NOT NULL DEFAULT '{}',
    district_codes   TEXT[] NOT NULL DEFAULT '{}',
    assigned_on      DATE NOT NULL,
    assigned_by      TEXT NOT NULL,
    ended_on         DATE,
    end_reason       TEXT
);
CREATE INDEX instructor_assignments_active ON instructor_assignments USING gin (organization_ids) WHERE ended_on IS NULL;

-- Assignments recorded before this table existed, from the event store (version 1: no organizations).
INSERT INTO instructor_assignments (assignment_id, instructor_id, role, stream_id, entity_ids, district_codes,
                                    assigned_on, assigned_by)
SELECT e.payload->>'assignment_id', e.payload->>'instructor_id', e.payload->>'role', e.stream_id,
       ARRAY(SELECT jsonb_array_elements_text(e.payload->'entity_ids')),
       ARRAY(SELECT DISTINCT k.district_code FROM known_entities k
             WHERE k.entity_id IN (SELECT jsonb_array_elements_text(e.payload->'entity_ids'))),
       (e.payload->>'assigned_on')::date, e.payload->>'assigned_by'
FROM events e WHERE e.type = 'InstructorAssigned';
