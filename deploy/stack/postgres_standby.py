"""The PostgreSQL standby (`stack.py up --pg-standby`, docs/operations.md "The PostgreSQL standby"): a
streaming-replication copy of the primary in its own data folder and port, made by ``pg_basebackup -R`` with a
replication slot (the primary keeps the WAL the standby has not received yet, so a standby that was down
catches up instead of needing a new base backup). ``--pg-sync-standby``: the primary's commits wait until
the standby has flushed them (``synchronous_standby_names``), so a promoted standby has every acknowledged
commit. ``stack.py promote`` turns it into the primary after the primary's loss.

The standby is a server like the primary: ``settings.pg_view("standby")`` names its port, data, socket and log,
and the primary's start/stop/health helpers (deploy/stack/postgres.py) serve both.
"""

import dataclasses
import os
import pwd
import subprocess
from pathlib import Path
from typing import Optional

from .local_secrets import new_password, stored_secret, write_private
from .postgres_access import REPLICATION_ROLE, superuser_args
from .settings import HOST, PG_DATABASE, PROMOTED, STANDBY_APPLICATION_NAME, Settings, StackError
from .system import say, tail, tail_text, wait_until

SLOT = "campaign_standby"


def replication_settings(settings: Settings, standby_streaming: bool = False) -> str:
    """campaign.conf's replication lines: on a primary with a standby, whom commits wait for and how much WAL
    the slot may hold; on the standby, read-only queries that tell the primary what they still read.
    (PostgreSQL 15's defaults already have wal_level=replica and WAL senders/slots to spare.)

    A synchronous standby is waited for only once it streams (``standby_streaming``): before the first base
    backup, or while `up` starts a stopped standby, the stack manager's own commits (the database, the roles)
    would otherwise wait for a standby that is not there yet. `up` names it once the standby streams."""
    if settings.pg_server == "standby":
        if settings.pg_promoted:
            return ""
        # (and a vanished primary is noticed within 10 s: the read path then stops trusting the standby's lag)
        return "hot_standby = on\nhot_standby_feedback = on\nwal_receiver_timeout = 10s\n"
    if not settings.pg_standby or settings.pg_promoted:
        return ""
    wait_for = STANDBY_APPLICATION_NAME if settings.pg_standby == "sync" and standby_streaming else ""
    # a standby down for long must not fill the disk with the WAL its slot holds: past this it needs a new base backup
    return f"max_slot_wal_keep_size = 4GB\nsynchronous_standby_names = '{wait_for}'\n"


def standby_streams(settings: Settings, psql: Path) -> bool:
    """The primary (running) has its standby streaming."""
    try:
        return _query(settings, psql, "SELECT count(*) FROM pg_stat_replication WHERE application_name = "
                                      f"'{STANDBY_APPLICATION_NAME}' AND state = 'streaming'") == "1"
    except (StackError, subprocess.TimeoutExpired):
        return False


def ensure_replication_role(settings: Settings, psql: Path, os_user: Optional[str]) -> None:
    """The role the standby logs in as (REPLICATION, nothing else; its password among the run folder's secrets),
    and the libpq password file its primary_conninfo names, owned by the servers' OS user (libpq wants it
    private to the reader)."""
    password = stored_secret(settings.run_dir / "secrets" / "replication" / f"{REPLICATION_ROLE}.password",
                             new_password)
    sql = ("SET log_statement = 'none';\n"  # the statement carries a password: never into the server log
           f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{REPLICATION_ROLE}') THEN "
           f"CREATE ROLE {REPLICATION_ROLE}; END IF; END $$;\n"
           f"ALTER ROLE {REPLICATION_ROLE} LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS "
           f"PASSWORD '{password}';\n")
    result = subprocess.run([str(psql), *superuser_args(settings), "-d", "postgres", "-v", "ON_ERROR_STOP=1"],
                            input=sql, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"postgres: creating the replication role failed:\n{tail_text(result.stdout + result.stderr)}")
    write_private(settings.pg_replication_passfile, f"{HOST}:*:*:{REPLICATION_ROLE}:{password}\n")
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        os.chown(settings.pg_replication_passfile, entry.pw_uid, entry.pw_gid)


def _query(settings: Settings, psql: Path, sql: str, database: str = "postgres") -> str:
    result = subprocess.run([str(psql), *superuser_args(settings), "-d", database, "-tA", "-F", "|", "-c", sql],
                            capture_output=True, text=True, env=dict(os.environ, PGCONNECT_TIMEOUT="3"), timeout=15)
    if result.returncode != 0:
        raise StackError(f"postgres: {sql!r} failed:\n{tail_text(result.stdout + result.stderr)}")
    return result.stdout.strip()


def _drop_slot(settings: Settings, psql: Path) -> bool:
    return _query(settings, psql, f"SELECT slot_name, pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                                  f"WHERE slot_name = '{SLOT}' AND NOT active") != ""  # the name: one was dropped


def primary_conninfo(settings: Settings) -> str:
    return (f"host={HOST} port={settings.pg_port} user={REPLICATION_ROLE} "
            f"passfile={settings.pg_replication_passfile} application_name={STANDBY_APPLICATION_NAME}")


def base_backup(settings: Settings, runner, psql: Path) -> None:
    """Copy the primary into the standby's (empty) data folder with ``pg_basebackup -R`` (standby.signal and
    primary_conninfo written for us); ``-C -S`` makes the slot in the same step. An old slot is dropped
    first: the standby it kept WAL for is gone with its data."""
    standby = settings.pg_view("standby")
    if _drop_slot(settings, psql):
        say(f"postgres: dropped the replication slot {SLOT} of a standby whose data is gone")
    say(f"postgres: base backup of the primary into {standby.pg_data}")
    result = runner.run("pg_basebackup", "-D", str(standby.pg_data), "-d", primary_conninfo(settings),
                        "-R", "-C", "-S", SLOT, "-X", "stream", "--checkpoint=fast", "-w", cwd=settings.pg_dir)
    if result.returncode != 0:
        raise StackError(f"pg_basebackup failed:\n{tail_text(result.stdout + result.stderr)}")


def forget_standby(settings: Settings, psql: Path) -> None:
    """A run folder without a standby (CAMPAIGN_PG_STANDBY=none) keeps no slot: it would hold WAL forever."""
    if _drop_slot(settings, psql):
        say(f"postgres: no standby wanted: dropped its replication slot {SLOT}")


@dataclasses.dataclass(frozen=True)
class Replication:
    """The standby as it sees itself: in recovery (False once promoted), how far its replay is behind the
    primary's last commit, and its WAL receiver's status ("none": not connected to the primary)."""

    in_recovery: bool
    replay_lag_s: Optional[float]
    receiver: str


# The same bound the services' read path checks (platform_core/read_replica.py): nothing received is left to
# replay -> 0 (an idle primary commits nothing, so the age of the last replayed commit says nothing then);
# else the age of the last replayed commit.
LAG_SQL = ("SELECT pg_is_in_recovery(), "
           "CASE WHEN NOT pg_is_in_recovery() THEN 0 "
           "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
           "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END, "
           "coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')")


def replication_state(settings: Settings, psql: Path) -> Optional[Replication]:
    """None when the standby does not answer."""
    try:
        found = _query(settings.pg_view("standby"), psql, LAG_SQL, PG_DATABASE)
    except (StackError, subprocess.TimeoutExpired):
        return None
    recovery, lag, receiver = found.split("|")
    return Replication(recovery == "t", float(lag) if lag else None, receiver)


def wait_for_streaming(settings: Settings, psql: Path, timeout: float = 60) -> bool:
    """Right after a base backup or a start the standby may still be connecting to the primary."""
    def streaming() -> bool:
        state = replication_state(settings, psql)
        return state is not None and state.receiver == "streaming"
    return wait_until(streaming, timeout, interval=0.5)


def promote(settings: Settings, runner, primary_pid: Optional[int], standby_pid: Optional[int]) -> None:
    """``pg_ctl promote``: the standby ends recovery and takes writes. Refused while the primary runs (two
    primaries would each accept commits the other never sees): stop or fence it first."""
    if not settings.pg_standby:
        raise StackError("this run folder has no PostgreSQL standby (`stack.py up --pg-standby` makes one)")
    if settings.pg_promoted:
        raise StackError(f"the standby was promoted already; the database is on port {settings.pg_standby_port}")
    if primary_pid is not None:
        raise StackError(f"the primary still runs (pid {primary_pid}): promoting now would make two primaries. "
                         "Stop it (or make sure it is gone) first, then promote.")
    if standby_pid is None:
        raise StackError("the standby is not running: `stack.py up` starts it (it keeps what it replayed)")
    standby = settings.pg_view("standby")
    result = runner.run("pg_ctl", "-D", str(standby.pg_data), "-w", "-t", "60", "promote", cwd=settings.pg_dir)
    if result.returncode != 0:
        raise StackError(f"pg_ctl promote failed:\n{tail_text(result.stdout + result.stderr)}\n"
                         f"--- last lines of {standby.pg_log} ---\n{tail(standby.pg_log, 20)}")
    settings.pg_standby_file.write_text(f"{PROMOTED}\n")
    say(f"postgres: the standby (port {standby.pg_server_port}) is the primary now: `stack.py env` names it; "
        "restart the services with it. The old primary's data is behind it: `stack.py up` never starts it again.")
