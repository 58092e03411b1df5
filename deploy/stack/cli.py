"""The commands: up, down, status, env [--process NAME], compose, promote."""

import argparse
import os
import shlex
import sys
import time
from typing import List, Optional, Sequence

from .kafka import kafka_down, kafka_pid, kafka_up
from .kafka_auth import admin_login
from .kafka_probe import kafka_is_healthy
from .compose import cmd_compose
from .environment import database_url, process_environment, read_database_url
from .postgres import find_pg_bindir, pg_down, pg_is_healthy, pg_promote, pg_up, postmaster_pid
from .postgres_standby import replication_state
from .processes import LOGINS, OPERATOR, OWNER_ROLE
from .settings import Settings, StackError, load_settings, parse_brokers
from .system import StackLock, say


def connection_lines(settings: Settings) -> List[str]:
    lines = [f"KAFKA_BOOTSTRAP={settings.kafka_bootstrap}", f"DATABASE_URL={database_url(settings, OWNER_ROLE)}"]
    read_url = read_database_url(settings, OWNER_ROLE)
    return lines + ([f"READ_DATABASE_URL={read_url}"] if read_url else [])


def cmd_up(settings: Settings) -> int:
    started = time.monotonic()
    with StackLock(settings.lock_file):
        kafka_up(settings)
        pg_up(settings)
    say(f"stack is up ({time.monotonic() - started:.1f}s). Connection settings:")
    for line in connection_lines(settings):
        say(f"  {line}")
    say("  (shell: eval \"$(python3 deploy/stack.py env)\")")
    return 0


def cmd_down(settings: Settings) -> int:
    with StackLock(settings.lock_file):
        kafka_down(settings)
        pg_down(settings)
    return 0


def cmd_status(settings: Settings) -> int:
    rows = []
    for node in settings.nodes():
        pid = kafka_pid(node)
        rows.append(("kafka" if settings.kafka_brokers == 1 else f"kafka-{node.kafka_node}", pid, node.node_port,
                     pid is not None and kafka_is_healthy(node.node_port, admin_login(settings))))
    notes = {}
    for server in settings.pg_servers():
        if server.pg_server == "primary" and settings.pg_promoted:
            continue  # the old primary's data is behind the promoted standby: never started again
        name = "postgres" if server.pg_server == "primary" else "pg-standby"
        pid = postmaster_pid(server)
        rows.append((name, pid, server.pg_server_port, pid is not None and pg_is_healthy(server)))
        if server.pg_server == "standby":
            notes[name] = standby_note(settings) if pid is not None else settings.pg_standby
    for name, pid, port, ok in rows:
        state = "running" if pid else "stopped"
        say(f"{name:<10} {state:<8} pid={pid or '-':<8} port={port:<6} "
            f"{'healthy' if ok else 'unhealthy'}" + (f"  {notes[name]}" if name in notes else ""))
    return 0 if all(row[3] for row in rows) else 1


def standby_note(settings: Settings) -> str:
    """The standby's replication as it reports it: mode, its WAL receiver and its replay lag."""
    bindir = find_pg_bindir()
    state = replication_state(settings, bindir / "psql") if bindir else None
    if state is None:
        return f"{settings.pg_standby}, replication state unknown"
    if not state.in_recovery:
        return "promoted: the primary"
    lag = "unknown" if state.replay_lag_s is None else f"{state.replay_lag_s:.1f}s"
    return f"{settings.pg_standby}, receiver {state.receiver}, replay lag {lag}"


def cmd_promote(settings: Settings) -> int:
    with StackLock(settings.lock_file):
        pg_promote(settings)
    return 0


def cmd_env(settings: Settings, process: str = OPERATOR) -> int:
    """Shell lines that leave exactly ``process``'s credentials set (file paths; docs/security.md)."""
    for variable, value in process_environment(settings, process).items():
        if value is None:
            if variable in os.environ:
                say(f"unset {variable}")
        elif os.environ.get(variable) != value:
            say(f"export {variable}={shlex.quote(value)}")
    return 0


COMMANDS = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "env": cmd_env, "compose": cmd_compose,
            "promote": cmd_promote}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 deploy/stack.py",
                                     description="The local Kafka and PostgreSQL of the platform.")
    parser.add_argument("command", choices=list(COMMANDS))
    parser.add_argument("--process", choices=list(LOGINS), default=OPERATOR,
                        help="env: the credentials of this process only (default: the operator's)")
    parser.add_argument("--brokers", metavar="N",
                        help="up: run N Kafka nodes (3: a replicated cluster, docs/scaling.md); the run folder "
                             "remembers it (default: what it was made with, else 1; or CAMPAIGN_KAFKA_BROKERS). "
                             "compose: 3 writes docker-compose.yml's cluster profile")
    standby = parser.add_mutually_exclusive_group()
    standby.add_argument("--pg-standby", action="store_true",
                         help="up: a streaming-replication standby of PostgreSQL on CAMPAIGN_PG_STANDBY_PORT (default the "
                              "primary's port + 1); the run folder remembers it (docs/operations.md)")
    standby.add_argument("--pg-sync-standby", action="store_true",
                         help="up: the same standby, and the primary's commits wait until it has them (synchronous_commit)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.brokers is not None:
            if args.command == "compose":  # docker-compose's own folder, not the local stack's run folder
                return cmd_compose(load_settings(), parse_brokers(args.brokers, "--brokers"))
            if args.command != "up":
                raise StackError("--brokers is for `up` and `compose` (the other commands read what the run folder "
                                 "was made with)")
            os.environ["CAMPAIGN_KAFKA_BROKERS"] = str(parse_brokers(args.brokers, "--brokers"))
        if args.pg_standby or args.pg_sync_standby:
            if args.command != "up":
                raise StackError("--pg-standby and --pg-sync-standby are for `up` (the other commands read what the "
                                 "run folder was made with)")
            os.environ["CAMPAIGN_PG_STANDBY"] = "sync" if args.pg_sync_standby else "async"
        settings = load_settings()
        if args.command == "env":
            return cmd_env(settings, args.process)
        return COMMANDS[args.command](settings)
    except StackError as error:
        print(f"\nERROR: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
