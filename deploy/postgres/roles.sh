#!/usr/bin/env bash
# The platform's PostgreSQL roles, created or brought up to date (idempotent). Shared by the local
# stack (deploy/stack.py runs it on every `up`) and docker-compose (the postgres image runs it once,
# from /docker-entrypoint-initdb.d). docs/security.md, "PostgreSQL".
#
#   CAMPAIGN_PG_PASSFILES  a folder of <role>.pgpass files (libpq format, *:*:*:<role>:<password>):
#                          one login role each; campaign_owner among them
#   PSQL                   the psql to run (default: psql on PATH)
#   connection             libpq's environment (PGHOST, PGPORT, PGUSER, PGDATABASE) as a superuser;
#                          in the postgres image POSTGRES_USER / POSTGRES_DB
#
# campaign_owner runs the migrations and owns the schemas (CREATE on the database). Every other role
# runs processes: login, nothing more at this level; `campaign migrate` grants each its schema's tables.
# campaign_reporting may also create schemas (as-of projections). The owner is a member of every other
# role, so that it can drop what they create (reporting's as-of schemas) and create their own tables.
# Schemas that the superuser created before these roles existed are handed to the owner.
set -euo pipefail
dir=${CAMPAIGN_PG_PASSFILES:?CAMPAIGN_PG_PASSFILES must name the folder of <role>.pgpass files}
export PGUSER=${PGUSER:-${POSTGRES_USER:-campaign}} PGDATABASE=${PGDATABASE:-${POSTGRES_DB:-campaign}}
owner=campaign_owner
sql="SET log_statement = 'none';"  # the statements carry passwords: never into the server log
members=()
for file in "$dir"/*.pgpass; do
  [ -e "$file" ] || { echo "roles.sh: no .pgpass files in $dir" >&2; exit 1; }
  role=$(basename "$file" .pgpass)
  password=$(head -n 1 "$file" | cut -d: -f5-)
  [[ $role =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "roles.sh: bad role name $role" >&2; exit 1; }
  [[ $password =~ ^[A-Za-z0-9_-]{20,}$ ]] || { echo "roles.sh: $file: the password must be 20+ URL-safe characters" >&2; exit 1; }
  sql+="
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN CREATE ROLE $role; END IF;
END \$\$;
ALTER ROLE $role LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '$password';"
  [ "$role" = "$owner" ] || members+=("$role")
done
[ -e "$dir/$owner.pgpass" ] || { echo "roles.sh: $dir/$owner.pgpass is missing" >&2; exit 1; }
for role in "${members[@]}"; do
  sql+="
GRANT $role TO $owner;"
done
sql+="
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT, CREATE ON DATABASE \"$PGDATABASE\" TO $owner;
DO \$\$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'campaign_reporting') THEN
    GRANT CONNECT, CREATE ON DATABASE \"$PGDATABASE\" TO campaign_reporting;
  END IF;
END \$\$;
DO \$\$ DECLARE item record; BEGIN
  -- schemas made by the superuser before the roles existed (a stack from before docs/security.md)
  FOR item IN SELECT n.nspname FROM pg_namespace n WHERE n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
      AND n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO $owner', item.nspname);
  END LOOP;
  FOR item IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND c.relkind IN ('r', 'p', 'v', 'm')
      AND n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO $owner', item.name);
  END LOOP;
  FOR item IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
      AND n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO $owner', item.name);
  END LOOP;
END \$\$;"
# The SQL (with the passwords) goes in on stdin (printf is a builtin): never on a command line.
printf '%s\n' "$sql" | "${PSQL:-psql}" -X -q -v ON_ERROR_STOP=1
