"""Department tokens' keys (docs/security.md, "Tokens and scope"): the issuer's Ed25519 private key (PEM) and
the public key set every service reads (a JWK Set, by kid). Made with openssl, so this package needs no
Python packages; rotation is `campaign token-keys rotate` (it rewrites both files)."""

import base64
import hashlib
import json
import subprocess
from pathlib import Path

from .settings import StackError
from .system import require_tool

ISSUER_KEY_FILE, PUBLIC_KEYS_FILE = "token-issuer-key.pem", "token-public-keys.json"
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")  # DER SubjectPublicKeyInfo before the 32 key bytes


def _openssl() -> str:
    return require_tool("openssl", "Install it: `apt-get install -y openssl`.")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_issuer_key(_folder: Path) -> str:
    """A new Ed25519 private key, PEM."""
    return subprocess.run([_openssl(), "genpkey", "-algorithm", "ed25519"], check=True, capture_output=True,
                          text=True).stdout


def token_key_files(settings) -> tuple[Path, Path]:
    """The issuer's key and the public key set of a run folder, made once; a public set that lacks the
    issuer's current key (a lost private key made anew) gains it and keeps the old ones until retired."""
    import json

    from .local_secrets import stored_secret, write_private

    folder = settings.run_dir / "secrets"
    private, public = folder / ISSUER_KEY_FILE, folder / PUBLIC_KEYS_FILE
    stored_secret(private, lambda: new_issuer_key(folder))
    current = json.loads(public_key_set(folder))["keys"]
    held = json.loads(public.read_text())["keys"] if public.exists() else []
    if not any(key["kid"] == current[0]["kid"] for key in held):
        write_private(public, json.dumps({"keys": held + current}, indent=2))
    return private, public


def public_key_set(folder: Path) -> str:
    """The JWK Set holding the public half of the issuer key stored beside it in ``folder`` (made first)."""
    from .local_secrets import stored_secret

    private = folder / ISSUER_KEY_FILE
    stored_secret(private, lambda: new_issuer_key(folder))
    der = subprocess.run([_openssl(), "pkey", "-in", str(private), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    if len(der) != 44 or not der.startswith(ED25519_SPKI_PREFIX):
        raise StackError(f"{private} is not an Ed25519 key (openssl pkey -pubout gave {len(der)} bytes)")
    x = _b64url(der[len(ED25519_SPKI_PREFIX):])
    # RFC 7638 thumbprint, as platform_core.tokens.key_id computes it
    kid = _b64url(hashlib.sha256(f'{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}'.encode()).digest())
    return json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig"}]}, indent=2)
