"""Local secrets: made once per run folder (<run>/secrets, mode 700; files mode 600), never committed.

Layout: ``postgres/<role>.pgpass`` (a libpq password file, ``*:*:*:<role>:<password>``),
``kafka/<principal>.password``, and one file per application secret (deploy/stack/processes.py).
Passwords are URL-safe tokens, so they need no quoting in a pgpass line, a JAAS line or SQL.
Rotation: delete a file and run `stack.py up` (docs/security.md).
"""

import os
import secrets
from pathlib import Path
from typing import Callable

from .processes import AppSecret
from .token_keys import PUBLIC_KEYS_FILE, token_key_files
from .settings import Settings


def _secrets_dir(settings: Settings) -> Path:
    return settings.run_dir / "secrets"


def stored_secret(path: Path, make: Callable[[], str]) -> str:
    """The secret in ``path``, created with ``make()`` first when missing (mode 600, folders 700)."""
    if not path.exists():
        _private_folders(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def _private_folders(folder: Path) -> None:
    """``folder`` and its parents up to the nearest one named ``secrets`` exist with mode 700; never a
    folder above that (nor any but ``folder`` itself when no parent is named so)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    chain = [folder, *folder.parents]
    top = next((i for i, each in enumerate(chain) if each.name == "secrets"), 0)
    for each in chain[:top + 1]:
        each.chmod(0o700)


def new_password() -> str:
    return secrets.token_urlsafe(32)


def app_secret_file(settings: Settings, secret: AppSecret) -> Path:
    path = _secrets_dir(settings) / secret.file
    if secret.file == PUBLIC_KEYS_FILE:  # it follows the issuer's key (token_keys.token_key_files)
        return token_key_files(settings)[1]
    stored_secret(path, lambda: secret.make(path.parent))
    return path


def app_secret(settings: Settings, secret: AppSecret) -> str:
    return stored_secret(app_secret_file(settings, secret), lambda: secret.make(_secrets_dir(settings)))


def pg_passfiles_dir(settings: Settings) -> Path:
    return _secrets_dir(settings) / "postgres"


def pg_passfile(settings: Settings, role: str) -> Path:
    """The role's libpq password file (what CAMPAIGN_DATABASE_URL's ``passfile`` names)."""
    path = pg_passfiles_dir(settings) / f"{role}.pgpass"
    stored_secret(path, lambda: f"*:*:*:{role}:{new_password()}\n")
    return path


def pg_password(settings: Settings, role: str) -> str:
    return pg_passfile(settings, role).read_text().strip().split(":", 4)[4]


def kafka_password_file(settings: Settings, principal: str) -> Path:
    path = _secrets_dir(settings) / "kafka" / f"{principal}.password"
    stored_secret(path, new_password)
    return path


def kafka_password(settings: Settings, principal: str) -> str:
    return kafka_password_file(settings, principal).read_text().strip()


def write_private(path: Path, text: str) -> None:
    """Write a file that holds secrets (mode 600 from the start, replaced atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(partial, path)
