"""Have a checkpoint of the audit log signed now, by the signer process, and print it (operators;
bulletins use the function). Needs CAMPAIGN_SIGNER_CLIENT_SECRET_FILE (and CAMPAIGN_SIGNER_URL or
CAMPAIGN_SIGNER_PORT), as the reporting processes have them.

    python -m reporting.audit.sign [--reason manual|bulletin|schedule]
"""

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from reporting.bootstrap import build_context, sign_checkpoint_now

    parser = argparse.ArgumentParser(prog="python -m reporting.audit.sign", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reason", choices=("manual", "bulletin", "schedule"), default="manual")
    args = parser.parse_args(argv)
    context = build_context()
    context.migrate()
    try:
        sys.stdout.write(sign_checkpoint_now(context, reason=args.reason))
    finally:
        context.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
