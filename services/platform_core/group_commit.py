"""Group commit: the commands that a process's threads run at the same moment, written in one transaction.

Under load every HTTP worker thread ran its command in a transaction of its own: BEGIN, the search_path,
COMMIT with its WAL flush, and the thread hand-offs around each round trip. Here the first thread to arrive
leads: it takes every command queued meanwhile (up to ``max_commands``) and runs them one after another in ONE
transaction, each in a savepoint of it (``CommandSavepoint``, as the Kafka intake runs its batches): a refused
command rolls back alone, and idempotency keys and stream versions are checked as in a transaction of its
own, in the order the commands ran. The other threads sleep until the commit, then return their own answers
or raise their own refusals.

- A command alone (nobody else waiting) runs exactly as without group commit: in its own transaction.
- One group executes at a time per store and kind of transaction; the next leader starts once the previous
  group has run its commands and is committing, so two groups of one process never wait on each other's
  locks.
- When the group's transaction fails as a whole (the connection lost, a deadlock with another process, a
  lock wait past ``lock_timeout``, the commit refused), nothing of it was written: every command of the group
  runs again alone, in its caller's thread, and meets its own fate as it would have without grouping.
"""

import contextvars
import logging
import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from .event_store import AppendResult, JoinedTransaction, StoreConnection, run_joined, run_statement
from .metrics import GROUP_COMMIT_COMMANDS

log = logging.getLogger(__name__)


class CommandSavepoint:
    """One savepoint per command of a shared transaction (a group commit's, a Kafka intake batch's): a refused
    command rolls back to it alone; after a command whose writes are kept (``kept``) it is released and set
    again in one round trip. ``prelude``: statements sent with the first SAVEPOINT."""

    def __init__(self, conn: StoreConnection, joined: JoinedTransaction, name: str, prelude: str = ""):
        self.conn, self.joined, self.name = conn, joined, name
        self.kept = False
        run_statement(conn, f"{prelude}; SAVEPOINT {name}" if prelude else f"SAVEPOINT {name}")

    def before_command(self) -> int:
        """Ready for the next command (its store's ``execute`` rolls back here on a lost race); how many
        results the joined transaction held before it."""
        if self.kept:
            run_statement(self.conn, f"RELEASE SAVEPOINT {self.name}; SAVEPOINT {self.name}")
            self.kept = False
        self.joined.command_savepoint = self.rollback
        return len(self.joined.results)

    def rollback(self) -> None:
        run_statement(self.conn, f"ROLLBACK TO SAVEPOINT {self.name}")  # the savepoint stays, clean

    def refused(self, seen: int) -> None:
        """The command was refused: its writes rolled back, its results forgotten."""
        self.rollback()
        del self.joined.results[seen:]

    def after_command(self) -> None:
        self.joined.command_savepoint = None  # a command that never reached ``execute`` leaves it unused


@dataclass(eq=False)
class _Queued:
    """One caller's command, waiting in the queue or running in a group."""

    run: Callable[[], Any]  # the command's whole pipeline (``EventStore.execute``'s, without grouping)
    context: contextvars.Context  # the caller's (the clock, the request's log fields)
    wake: threading.Event = field(default_factory=threading.Event)
    batch: list["_Queued"] | None = None  # set when its thread is to lead this group (its own command first)
    state: str = "queued"  # queued | done (outcome kept) | alone (run it again yourself)
    ok: bool = False
    outcome: Any = None  # the answer, or the refusal to raise


class GroupCommit:
    """Runs the commands of one event store (and one kind of transaction) in shared transactions.

    ``transaction`` opens the group's transaction (the kind each command would have opened alone);
    ``count_committed`` is told each result after the group's commit (the metrics); ``max_executing`` groups
    run their commands at the same time (a second one runs its Python while the first waits on PostgreSQL;
    two groups that lock the same rows in opposite orders are a deadlock that PostgreSQL breaks, and the group
    it aborts runs its commands again alone)."""

    def __init__(self, name: str, transaction: Callable[[], AbstractContextManager[StoreConnection]],
                 count_committed: Callable[[AppendResult], None], max_commands: int = 32,
                 max_executing: int = 1, lock_timeout_ms: int = 10_000):
        if max_commands < 2:
            raise ValueError("a group commits 2 or more commands (max_commands >= 2)")
        self.name = name
        self.max_commands = max_commands
        self.max_executing = max(1, max_executing)
        self.lock_timeout_ms = lock_timeout_ms
        self._transaction = transaction
        self._count_committed = count_committed
        self._lock = threading.Lock()
        self._queue: deque[_Queued] = deque()
        self._executing = 0  # leaders running commands (below max_executing only with an empty queue)

    def run(self, run: Callable[[], Any]) -> Any:
        """Run one command (``run``: its pipeline) in the next group: its answer, or its refusal raised."""
        queued = _Queued(run, contextvars.copy_context())
        with self._lock:
            if self._executing < self.max_executing:
                self._executing += 1
                queued.batch = [queued]
            else:
                self._queue.append(queued)
        if queued.batch is None:
            queued.wake.wait()  # until its group committed, or until it leads the next one
        if queued.batch is not None:
            self._lead(queued.batch)
        if queued.state == "alone":
            return run()
        if not queued.ok:
            raise queued.outcome
        return queued.outcome

    def _lead(self, batch: list[_Queued]) -> None:
        handed_off = False
        try:
            if len(batch) == 1:  # the leader's own command alone: its own transaction, as without grouping
                only = batch[0]
                try:
                    only.ok, only.outcome = True, only.run()
                except Exception as exc:  # raised in the caller's frame, as any other outcome
                    only.ok, only.outcome = False, exc
                only.state = "done"
            else:
                handed_off = self._run_group(batch)
        finally:
            if not handed_off:
                self._hand_off()
            for queued in batch[1:]:
                if queued.state == "queued":  # the leader was interrupted (not an Exception): each runs alone
                    queued.state = "alone"
                queued.wake.set()

    def _run_group(self, batch: list[_Queued]) -> bool:
        """Every command of the batch in one transaction; True once the next leader took over."""
        GROUP_COMMIT_COMMANDS.labels(service=self.name).observe(len(batch))
        handed_off = False
        try:
            with self._transaction() as conn:
                joined = JoinedTransaction(conn, counts_after_commit=True)
                savepoint = CommandSavepoint(conn, joined, "group_command",
                                             f"SET LOCAL lock_timeout = {int(self.lock_timeout_ms)}")
                for queued in batch:
                    seen = savepoint.before_command()
                    try:
                        queued.ok, queued.outcome = True, queued.context.run(run_joined, joined, queued.run)
                        savepoint.kept = True
                    except Exception as exc:  # the caller raises it in its own thread
                        if getattr(exc, "connection_invalidated", False):
                            raise  # the database went away: the group's failure, not this command's
                        queued.ok, queued.outcome = False, exc
                        savepoint.refused(seen)
                    finally:
                        savepoint.after_command()
                self._hand_off()  # the next group runs its commands while this one commits
                handed_off = True
            for queued in batch:
                queued.state = "done"
            for result in joined.results:
                self._count_committed(result)
        except Exception as exc:  # the transaction as a whole: nothing of it was written
            log.warning("group commit of %d commands failed (%s: %s); each runs again alone", len(batch),
                        type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            for queued in batch:
                queued.state, queued.ok, queued.outcome = "alone", False, None
        return handed_off

    def _hand_off(self) -> None:
        """The commands still queued (up to ``max_commands``) become the next group, led by the first one's
        thread; with none queued, the next caller leads."""
        with self._lock:
            if not self._queue:
                self._executing -= 1
                return
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_commands))]
            batch[0].batch = batch
        batch[0].wake.set()
