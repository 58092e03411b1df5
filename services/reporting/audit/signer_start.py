"""Where a new signer's record should start, as this database sees it (local operators' scripts).

    python -m reporting.audit.signer_start --note FILE

Prints ``empty`` when the log holds no event and no checkpoint (``audit_signer init --empty`` is then
safe), or ``adopt <id>`` after writing the latest stored checkpoint's note to FILE (for
``audit_signer init --adopt FILE --id <id>``: the signer accepts it only if its own key signed it).
Exits 1 printing ``undecided`` when events were logged but no checkpoint was ever signed: nothing
vouches for them, and an operator has to decide.

This trusts the database to show its latest checkpoint. ``scripts/services.sh`` uses it to start a
local signer once; in production an operator adopts the last checkpoint published outside the
database (a bulletin, the signer's own notes file).
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    from reporting.audit.store import AuditLogStore
    from reporting.bootstrap import build_context

    parser = argparse.ArgumentParser(prog="python -m reporting.audit.signer_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--note", type=Path, required=True, help="where to write the latest checkpoint's note")
    args = parser.parse_args(argv)
    context = build_context()
    context.migrate()
    store = AuditLogStore(context.schema)
    try:
        with context.engine.connect() as conn:
            size, _ = store.head(conn)
            latest = store.latest_checkpoint(conn)
    finally:
        context.engine.dispose()
    if latest is not None:
        args.note.write_text(latest.note, encoding="utf-8")
        print(f"adopt {latest.id}")
        return 0
    print("empty" if size == 0 else "undecided")
    return 0 if size == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
