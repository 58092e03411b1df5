"""Print where to look after scripts/run.sh: the dashboard's login page and how to get a token for it
(never a token in a URL: it would land in logs and browser history), the bulletins (downloaded
under .run/bulletins/), and the latest signed audit checkpoint. Reads the running reporting service
with an inspector's token; run with the venv's Python after `eval "$(python3 deploy/stack.py env)"`."""

import json
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

from platform_core.auth import Principal
from platform_core.settings import local_service_urls
from platform_core.tokens import issuer_from_settings

REPORTING = local_service_urls()["reporting"]
FILES = ("html", "pdf", "xlsx", "json")
BEIJING = timezone(timedelta(hours=8))


def fetch(path: str, token: str) -> bytes:
    request = urllib.request.Request(REPORTING + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def main(run_dir: Path) -> None:
    # for the downloads below only: the dashboard's sign-in takes a token the operator makes and pastes
    token = issuer_from_settings().issue(Principal("inspector", "inspector", "demo"), timedelta(minutes=10))
    print(f"  dashboard: {REPORTING}/dashboard/login\n    paste into its form the token this prints:\n"
          f"    .venv/bin/campaign token inspector --user NAME   (or city_org)")
    truth = run_dir / "simulator-truth.json"
    cutoffs = [b["cutoff_date"] for b in json.loads(truth.read_text(encoding="utf-8")).get("bulletins", [])] \
        if truth.exists() else []
    for cutoff in cutoffs:
        folder = run_dir / "bulletins" / cutoff
        folder.mkdir(parents=True, exist_ok=True)
        for kind in FILES:
            (folder / f"bulletin-{cutoff}.{kind}").write_bytes(fetch(f"/bulletins/{cutoff}/{kind}", token))
    if cutoffs:
        print(f"  bulletins ({len(cutoffs)}, {cutoffs[0]} .. {cutoffs[-1]}):\n    {run_dir / 'bulletins'}/<date>/"
              f"bulletin-<date>.{{{','.join(FILES)}}}")
    elif truth.exists():
        # A demo played by a version without reporting phases left a ground truth without bulletins.
        print(f"  bulletins: none in the demo recorded in {truth}\n    (it predates the reporting phases);"
              f" to play it again:\n    rm {run_dir}/demo-played-* && scripts/run.sh")
    else:
        print("  bulletins: none published yet (play the demo: scripts/run.sh)")
    try:
        checkpoint = json.loads(fetch("/audit/checkpoints/latest", token))
        signed = datetime.fromisoformat(checkpoint["signed_at"].replace("Z", "+00:00")).astimezone(BEIJING)
        print(f"  latest audit checkpoint: tree size {checkpoint['tree_size']}\n"
              f"    signed {signed:%Y-%m-%d %H:%M} Beijing time ({checkpoint['reason']})\n"
              f"    root {checkpoint['root_hash']}\n    {REPORTING}/audit/checkpoints/latest\n"
              f"    verifier key: {REPORTING}/audit/keys")
    except urllib.error.HTTPError as exc:
        print(f"  latest audit checkpoint: none yet ({exc.code})")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
