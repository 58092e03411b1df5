"""PostgreSQL: find/install binaries, run as an unprivileged user, initdb, start, stop."""

import dataclasses
import glob
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator, List, Optional

from .postgres_standby import (SLOT, base_backup, ensure_replication_role, forget_standby, promote,
                               replication_settings, standby_streams, wait_for_streaming)
from .postgres_access import apply_roles, reload_config, role_can_log_in, superuser_args, write_access_config
from .processes import OWNER_ROLE
from .settings import HOST, PG_DATABASE, PG_SUPERUSER, Settings, StackError
from .system import ensure_port_free, is_zombie, pid_is_ours, read_pid, require_tool, say, tail, tail_text, wait_until

PG_FALLBACK_OS_USER = "campaignpg"
PG_START_TIMEOUT_S = 90
# Unix socket paths are limited to 108 bytes (sun_path) including the terminating NUL.
UNIX_SOCKET_PATH_MAX = 107


def _version_key(path: str) -> tuple:
    """Sort key for /usr/lib/postgresql/<version>/bin (numeric, so 16 > 9.6)."""
    version = Path(path).parent.name
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def _has_server_binaries(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def find_pg_bindir() -> Optional[Path]:
    """Directory holding initdb/pg_ctl/postgres: the highest Debian version, else pg_config's."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if _has_server_binaries(Path(candidate)):
            return Path(candidate)
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0 and _has_server_binaries(Path(result.stdout.strip())):
            return Path(result.stdout.strip())
    initdb = shutil.which("initdb")
    if initdb and _has_server_binaries(Path(initdb).parent):
        return Path(initdb).parent
    return None


def install_postgresql() -> None:
    """apt-get install the PostgreSQL server (non-interactive), with readable failures."""
    if os.geteuid() != 0:
        raise StackError("PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found and "
                         "installing them needs root: run `sudo apt-get install -y postgresql` "
                         "or run this script as root.")
    apt = require_tool("apt-get", "Install the PostgreSQL server (initdb, pg_ctl, postgres) with "
                                  "your OS package manager.")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in ([apt, "update"], [apt, "install", "-y", "--no-install-recommends", "postgresql"]):
        say(f"postgres: running {' '.join(cmd[1:])} ...")
        result = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise StackError(f"`apt-get {' '.join(cmd[1:])}` failed (exit {result.returncode}). "
                             f"Last lines:\n{tail_text(result.stdout + result.stderr)}\n"
                             "Check access to the Debian package mirrors and that no other apt "
                             "process holds the dpkg lock.")


def ensure_pg_bindir() -> Path:
    """Server binaries, installing the OS package first if they are missing."""
    bindir = find_pg_bindir()
    if bindir is None:
        say("postgres: no server binaries found, installing the `postgresql` package")
        install_postgresql()
        bindir = find_pg_bindir()
        if bindir is None:
            raise StackError("`apt-get install postgresql` succeeded but no initdb/pg_ctl/postgres "
                             "were found under /usr/lib/postgresql/*/bin.")
    return bindir


@dataclasses.dataclass(frozen=True)
class PgRunner:
    """Runs PostgreSQL server commands as an unprivileged OS user.

    initdb and postgres refuse to run as root, so as root we switch to `postgres` (or a system
    user we create) with runuser; as a normal user we run them directly.
    """

    bindir: Path
    os_user: Optional[str]  # None: run as the current user

    def command(self, tool: str, *args: str) -> List[str]:
        cmd = [str(self.bindir / tool), *args]
        return ["runuser", "-u", self.os_user, "--", *cmd] if self.os_user else cmd

    def run(self, tool: str, *args: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
        # cwd: the pg user may not be allowed into the caller's current directory.
        return subprocess.run(self.command(tool, *args), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, cwd=cwd)

    def client(self, tool: str, *args: str) -> List[str]:
        """Client tools (psql, pg_isready, createdb) connect over TCP and need no user switch."""
        return [str(self.bindir / tool), *args]


def pg_os_user(create: bool) -> Optional[str]:
    """The OS user that owns the cluster when we are root: postgres, or campaignpg (created)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", PG_FALLBACK_OS_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    if not create:
        return PG_FALLBACK_OS_USER
    useradd = require_tool("useradd", "Create a system user for PostgreSQL, e.g. `adduser --system "
                                      f"{PG_FALLBACK_OS_USER}`.")
    result = subprocess.run([useradd, "--system", "--user-group", "--no-create-home",
                             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                             PG_FALLBACK_OS_USER], capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"could not create the OS user {PG_FALLBACK_OS_USER}:\n"
                         f"{tail_text(result.stdout + result.stderr)}")
    say(f"postgres: created system user {PG_FALLBACK_OS_USER} to run the server")
    return PG_FALLBACK_OS_USER


def _ancestors(path: Path) -> Iterator[Path]:
    """path's parents from the filesystem root down (excluding path itself)."""
    return reversed(path.parents)


def _user_can_traverse(directory: Path, uid: int, gids: set) -> bool:
    info = directory.stat()
    if info.st_uid == uid:
        return bool(info.st_mode & 0o100)
    if info.st_gid in gids:
        return bool(info.st_mode & 0o010)
    return bool(info.st_mode & 0o001)


def prepare_pg_dirs(settings: Settings, os_user: Optional[str]) -> None:
    """Create data/socket folders owned by the server's user and make the path traversable.

    The server user must be able to walk down to <run>/pg; folders above that which deny it get
    o+x (traverse only, no listing) and we say so.
    """
    for folder in (settings.pg_data, settings.pg_socket_dir, settings.logs_dir):
        folder.mkdir(parents=True, exist_ok=True)
    settings.pg_log.touch(exist_ok=True)
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        gids = {entry.pw_gid, *os.getgrouplist(os_user, entry.pw_gid)}
        for parent in _ancestors(settings.pg_dir):
            if not _user_can_traverse(parent, entry.pw_uid, gids):
                say(f"postgres: allowing {os_user} to traverse {parent} (chmod o+x)")
                parent.chmod(parent.stat().st_mode | 0o001)
        for path in (settings.pg_dir, settings.pg_data, settings.pg_socket_dir, settings.pg_log):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    settings.pg_data.chmod(0o700)
    if len(str(settings.pg_socket_dir / f".s.PGSQL.{settings.pg_server_port}")) > UNIX_SOCKET_PATH_MAX:
        raise StackError(f"the socket path under {settings.pg_socket_dir} is longer than "
                         f"{UNIX_SOCKET_PATH_MAX} bytes; use a shorter CAMPAIGN_RUN_DIR.")


def pg_initdb(settings: Settings, runner: PgRunner) -> None:
    """Create the cluster once (superuser `campaign`); C.UTF-8 locale, else C. Logins: postgres_access."""
    if (settings.pg_data / "PG_VERSION").is_file():
        return
    errors = []
    for locale in ("C.UTF-8", "C"):
        _empty_dir(settings.pg_data)
        result = runner.run("initdb", "-D", str(settings.pg_data), "-U", PG_SUPERUSER,
                            "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", f"--locale={locale}",
                            cwd=settings.pg_dir)
        if result.returncode == 0:
            say(f"postgres: initialized cluster in {settings.pg_data} (locale {locale})")
            return
        errors.append(f"--locale={locale}:\n{tail_text(result.stdout + result.stderr, 15)}")
    raise StackError("initdb failed:\n" + "\n".join(errors))


def _empty_dir(folder: Path) -> None:
    """Remove a folder's contents but keep the folder (its ownership/mode were set for us)."""
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def write_pg_config(settings: Settings, standby_streaming: bool = False) -> bool:
    """Our settings in campaign.conf, included from postgresql.conf (rewritten on every up; True when it
    changed: a running server reloads). The same file for the standby (its own port and socket, copied
    into its data by the base backup and rewritten here), with the replication settings of each side."""
    conf = settings.pg_data / "campaign.conf"
    text = ("# Generated by deploy/stack.py on every `up`; edit stack.py instead.\n"
            f"listen_addresses = '{HOST}'\n"
            f"port = {settings.pg_server_port}\n"
            f"unix_socket_directories = '{settings.pg_socket_dir}'\n"
            "max_connections = 200\n"
            f"shared_buffers = {'128MB' if settings.pg_server == 'standby' else '256MB'}\n"
            "password_encryption = 'scram-sha-256'\n"
            + replication_settings(settings, standby_streaming))
    changed = not conf.is_file() or conf.read_text() != text
    conf.write_text(text)
    main_conf = settings.pg_data / "postgresql.conf"
    include = "include_if_exists = 'campaign.conf'"
    if include not in main_conf.read_text():
        with open(main_conf, "a") as handle:
            handle.write(f"\n# Added by deploy/stack.py\n{include}\n")
    shutil.copymode(main_conf, conf)
    stat = main_conf.stat()
    if os.geteuid() == 0:
        os.chown(conf, stat.st_uid, stat.st_gid)
    return changed


def postmaster_pid(settings: Settings) -> Optional[int]:
    """Pid of our running postmaster from postmaster.pid, or None if absent or stale."""
    pid = read_pid(settings.pg_data / "postmaster.pid")
    return pid if pid_is_ours(pid, "postgres", str(settings.pg_data)) else None


def pg_is_healthy(settings: Settings, bindir: Optional[Path] = None, timeout: int = 3) -> bool:
    """True if `pg_isready` succeeds on TCP and the campaign database accepts a query (over the
    stack manager's socket: the superuser has no TCP login)."""
    bindir = bindir or find_pg_bindir()
    if bindir is None:
        return False
    env = dict(os.environ, PGCONNECT_TIMEOUT=str(timeout))
    try:
        ready = subprocess.run([str(bindir / "pg_isready"), "-h", HOST, "-p", str(settings.pg_server_port),
                                "-U", PG_SUPERUSER, "-d", "postgres", "-t", str(timeout)],
                               capture_output=True, env=env, timeout=timeout + 5)
        if ready.returncode != 0:
            return False
        query = subprocess.run([str(bindir / "psql"), *superuser_args(settings), "-d", PG_DATABASE,
                                "-tAc", "SELECT 1"], capture_output=True, text=True,
                               env=env, timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        return False
    return query.returncode == 0 and query.stdout.strip() == "1"


def clear_stale_pg_state(settings: Settings) -> None:
    """Remove the lock files a killed postmaster leaves behind.

    PostgreSQL refuses to start while postmaster.pid or the socket lock file name a pid that
    still exists, which is the case for a moment after kill -9 (zombie not yet reaped) or for
    good if the pid was recycled by another process. Only called when no postmaster of ours runs.
    """
    pid_file = settings.pg_data / "postmaster.pid"
    old_pid = read_pid(pid_file)
    if old_pid:
        wait_until(lambda: not is_zombie(old_pid), 10, interval=0.2)
    if pid_file.exists():
        say(f"postgres: removing stale {pid_file} (pid {old_pid} is gone)")
        pid_file.unlink()
    for lock in settings.pg_socket_dir.glob(".s.PGSQL.*.lock"):
        if not pid_is_ours(read_pid(lock), "postgres"):
            lock.unlink(missing_ok=True)
            Path(str(lock)[:-len(".lock")]).unlink(missing_ok=True)


def pg_start(settings: Settings, runner: PgRunner) -> None:
    """pg_ctl start -w; retried briefly because orphaned backends of a killed postmaster can
    still hold the old shared memory for a moment."""
    for attempt in range(1, 4):
        result = runner.run("pg_ctl", "-D", str(settings.pg_data), "-l", str(settings.pg_log),
                            "-w", "-t", str(PG_START_TIMEOUT_S), "start", cwd=settings.pg_dir)
        if result.returncode == 0:
            return
        log = tail(settings.pg_log, 20)
        if attempt < 3 and "pre-existing shared memory block" in log:
            say("postgres: old server processes still exiting, retrying")
            time.sleep(3)
            clear_stale_pg_state(settings)
            continue
        raise StackError(f"pg_ctl start failed:\n{tail_text(result.stdout + result.stderr)}\n"
                         f"--- last lines of {settings.pg_log} ---\n{log}")


def pg_ensure_database(settings: Settings, runner: PgRunner) -> None:
    """Create database `campaign` owned by role `campaign` unless it exists."""
    base = superuser_args(settings)
    check = subprocess.run(runner.client("psql", *base, "-d", "postgres", "-tAc",
                                         f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"),
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise StackError(f"cannot query PostgreSQL on port {settings.pg_server_port}:\n"
                         f"{tail_text(check.stdout + check.stderr)}")
    if check.stdout.strip() == "1":
        return
    create = subprocess.run(runner.client("createdb", *base, "-O", PG_SUPERUSER, PG_DATABASE),
                            capture_output=True, text=True)
    if create.returncode != 0:
        raise StackError(f"createdb {PG_DATABASE} failed:\n{tail_text(create.stdout + create.stderr)}")
    say(f"postgres: created database {PG_DATABASE}")


def pg_up(settings: Settings) -> None:
    """Make sure our PostgreSQL runs and the campaign database exists; with a standby (`up --pg-standby`),
    that it runs and streams from the primary. After `promote`, the promoted standby is the one server."""
    bindir = ensure_pg_bindir()
    runner = PgRunner(bindir, pg_os_user(create=True))
    serving = settings.pg_view("standby") if settings.pg_promoted else settings
    serve(serving, bindir, runner, "CAMPAIGN_PG_STANDBY_PORT" if settings.pg_promoted else "CAMPAIGN_PG_PORT")
    if settings.pg_standby and not settings.pg_promoted:
        standby_up(settings, bindir, runner)
    elif not settings.pg_standby:
        forget_standby(settings, bindir / "psql")


def serve(settings: Settings, bindir: Path, runner: PgRunner, port_variable: str) -> None:
    """The server of ``settings``' view running, reachable, with the database and the roles."""
    pid = postmaster_pid(settings)
    if pid is not None and pg_is_healthy(settings, bindir):
        say(f"postgres: already running and healthy (pid {pid}), reusing it")
        # e.g. the standby became synchronous (waited for while it streams; standby_up names it once it does)
        if write_pg_config(settings, standby_streams(settings, bindir / "psql")):
            reload_config(settings, bindir / "psql", "campaign.conf")
    elif pid is None:
        clear_stale_pg_state(settings)
        prepare_pg_dirs(settings, runner.os_user)
        pg_initdb(settings, runner)
        ensure_port_free(settings.pg_server_port, "PostgreSQL", port_variable)
        write_pg_config(settings)
        write_access_config(settings)
        started = time.monotonic()
        say(f"postgres: starting ({bindir.parent.name}, user {runner.os_user or 'current'})")
        pg_start(settings, runner)
        say(f"postgres: started in {time.monotonic() - started:.1f}s "
            f"(pid {postmaster_pid(settings)}), log {settings.pg_log}")
    else:
        say(f"postgres: process {pid} is running but not accepting connections yet")
    if not wait_until(lambda: _pg_accepts(settings, bindir), PG_START_TIMEOUT_S, interval=1.0):
        raise StackError(f"postgres: not accepting connections on {HOST}:{settings.pg_server_port}.\n"
                         f"--- last lines of {settings.pg_log} ---\n{tail(settings.pg_log, 20)}")
    if write_access_config(settings):  # a running server from before password logins
        reload_config(settings, bindir / "psql")
    pg_ensure_database(settings, runner)
    if not pg_is_healthy(settings, bindir):
        raise StackError(f"postgres: database {PG_DATABASE} is not reachable on port "
                         f"{settings.pg_server_port}; see {settings.pg_log}")
    apply_roles(settings, bindir / "psql")
    if not role_can_log_in(settings, bindir / "psql", OWNER_ROLE):
        raise StackError(f"postgres: {OWNER_ROLE} cannot log in over TCP with its password file; "
                         f"see {settings.pg_log}")
    say(f"postgres: ready (pid {postmaster_pid(settings)}), roles up to date")


def standby_up(settings: Settings, bindir: Path, runner: PgRunner) -> None:
    """The standby running and streaming: made once by a base backup of the primary (its own data folder),
    then started like the primary; it reuses what it replayed on every later `up`."""
    standby = settings.pg_view("standby")
    psql = bindir / "psql"
    ensure_replication_role(settings, psql, runner.os_user)
    pid = postmaster_pid(standby)
    if pid is not None and pg_is_healthy(standby, bindir):
        say(f"postgres standby: already running and healthy (pid {pid}), reusing it")
    elif pid is None:
        clear_stale_pg_state(standby)
        prepare_pg_dirs(standby, runner.os_user)
        if not (standby.pg_data / "PG_VERSION").is_file():
            _empty_dir(standby.pg_data)
            base_backup(settings, runner, psql)
        ensure_port_free(standby.pg_server_port, "the PostgreSQL standby", "CAMPAIGN_PG_STANDBY_PORT")
        write_pg_config(standby)
        started = time.monotonic()
        pg_start(standby, runner)
        say(f"postgres standby: started in {time.monotonic() - started:.1f}s (pid {postmaster_pid(standby)}, "
            f"port {standby.pg_server_port}), log {standby.pg_log}")
    if not wait_until(lambda: pg_is_healthy(standby, bindir), PG_START_TIMEOUT_S, interval=1.0):
        raise StackError(f"postgres standby: not answering on {HOST}:{standby.pg_server_port}.\n"
                         f"--- last lines of {standby.pg_log} ---\n{tail(standby.pg_log, 20)}")
    if not wait_for_streaming(settings, psql):
        raise StackError(f"postgres standby: not streaming from the primary.\n"
                         f"--- last lines of {standby.pg_log} ---\n{tail(standby.pg_log, 20)}")
    if write_pg_config(settings, standby_streaming=True):  # a synchronous standby is waited for from now on
        reload_config(settings, psql, "campaign.conf")
    settings.pg_standby_file.write_text(f"{settings.pg_standby}\n")
    say(f"postgres standby: streaming from the primary ({settings.pg_standby}hronous), "
        f"slot {SLOT}, port {standby.pg_server_port}")


def _pg_accepts(settings: Settings, bindir: Path) -> bool:
    """pg_isready only (the database may not exist yet on the first run)."""
    result = subprocess.run([str(bindir / "pg_isready"), "-h", HOST, "-p", str(settings.pg_server_port),
                             "-U", PG_SUPERUSER, "-d", "postgres", "-t", "3"],
                            capture_output=True)
    return result.returncode == 0


def pg_down(settings: Settings) -> None:
    """Every server of ours (the standby first: it would only log the primary's absence)."""
    pg_stop(settings.pg_view("standby"), "postgres standby", quiet=not settings.pg_standby)
    if not settings.pg_promoted:
        pg_stop(settings, "postgres")


def pg_stop(settings: Settings, name: str, quiet: bool = False) -> None:
    """pg_ctl stop -m fast; a stale lock file left by a crash is simply removed."""
    pid = postmaster_pid(settings)
    if pid is None:
        if settings.pg_data.is_dir():
            clear_stale_pg_state(settings)
        if not quiet:
            say(f"{name}: not running")
        return
    bindir = find_pg_bindir()
    if bindir is None:
        raise StackError(f"{name} is running but pg_ctl was not found to stop it")
    runner = PgRunner(bindir, pg_os_user(create=False))
    say(f"{name}: stopping pid {pid}")
    result = runner.run("pg_ctl", "-D", str(settings.pg_data), "-m", "fast", "-w", "-t", "60",
                        "stop", cwd=settings.pg_dir)
    if result.returncode != 0 and postmaster_pid(settings) is not None:
        raise StackError(f"pg_ctl stop failed:\n{tail_text(result.stdout + result.stderr)}")
    say(f"{name}: stopped")


def pg_promote(settings: Settings) -> None:
    """`stack.py promote`: the standby becomes the primary (after the primary's loss; docs/operations.md)."""
    bindir = find_pg_bindir()
    if bindir is None:
        raise StackError("pg_ctl was not found")
    promote(settings, PgRunner(bindir, pg_os_user(create=False)), postmaster_pid(settings),
            postmaster_pid(settings.pg_view("standby")))
