"""Local secrets: made once per run folder (mode 600), never committed."""

import base64
import os
import secrets

from .settings import Settings

# Local secrets: made once per run folder (mode 600), never committed; production sets the
# variables itself. Each maker returns the text to store.
LOCAL_SECRETS = {
    "CAMPAIGN_AUTH_SECRET": ("auth-secret", lambda: secrets.token_urlsafe(32)),
    "CAMPAIGN_PERSONAL_DATA_KEY": ("personal-data-key", lambda: secrets.token_urlsafe(32)),
    # an Ed25519 private key is any 32 random bytes; kept as base64
    "CAMPAIGN_AUDIT_SIGNING_KEY": ("audit-signing-key",
                                   lambda: base64.b64encode(secrets.token_bytes(32)).decode()),
}


def local_secret(settings: Settings, file_name: str, make) -> str:
    path = settings.run_dir / "secrets" / file_name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()
