"""The commands: up, down, status, env."""

import os
import shlex
import sys
import time
from typing import List, Optional, Sequence

from .kafka import kafka_down, kafka_pid, kafka_up
from .kafka_probe import kafka_is_healthy
from .local_secrets import LOCAL_SECRETS, local_secret
from .postgres import pg_down, pg_is_healthy, pg_up, postmaster_pid
from .settings import Settings, StackError, load_settings
from .system import StackLock, say


def connection_lines(settings: Settings) -> List[str]:
    return [f"KAFKA_BOOTSTRAP={settings.kafka_bootstrap}", f"DATABASE_URL={settings.database_url}"]


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
    kpid = kafka_pid(settings)
    k_ok = kpid is not None and kafka_is_healthy(settings.kafka_port)
    ppid = postmaster_pid(settings)
    p_ok = ppid is not None and pg_is_healthy(settings)
    for name, pid, port, ok in (("kafka", kpid, settings.kafka_port, k_ok),
                                ("postgres", ppid, settings.pg_port, p_ok)):
        state = "running" if pid else "stopped"
        say(f"{name:<9} {state:<8} pid={pid or '-':<8} port={port:<6} "
            f"{'healthy' if ok else 'unhealthy'}")
    return 0 if k_ok and p_ok else 1


def cmd_env(settings: Settings) -> int:
    say(f"export CAMPAIGN_DATABASE_URL={shlex.quote(settings.database_url)}")
    say(f"export CAMPAIGN_KAFKA_BOOTSTRAP={shlex.quote(settings.kafka_bootstrap)}")
    for variable, (file_name, make) in LOCAL_SECRETS.items():
        if not os.environ.get(variable):
            say(f"export {variable}={shlex.quote(local_secret(settings, file_name, make))}")
    return 0


COMMANDS = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "env": cmd_env}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: python3 deploy/stack.py {'|'.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]](load_settings())
    except StackError as error:
        print(f"\nERROR: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130

