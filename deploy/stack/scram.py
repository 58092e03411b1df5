"""The client side of SCRAM-SHA-512 (RFC 5802, RFC 7677), for the broker probe: standard library only."""

import base64
import hashlib
import hmac
import secrets
from typing import Callable, Dict

GS2_HEADER = "n,,"


class ScramError(Exception):
    """The server's answer is malformed or does not prove that it knows the password."""


def _attributes(message: str) -> Dict[str, str]:
    return dict(part.split("=", 1) for part in message.split(",") if "=" in part)


def _escape(username: str) -> str:
    return username.replace("=", "=3D").replace(",", "=2C")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha512).digest()


def authenticate(username: str, password: str, exchange: Callable[[bytes], bytes]) -> None:
    """Run the three messages through ``exchange`` (send the client's, return the server's)."""
    client_nonce = secrets.token_urlsafe(24)
    client_first_bare = f"n={_escape(username)},r={client_nonce}"
    server_first = exchange((GS2_HEADER + client_first_bare).encode()).decode()
    found = _attributes(server_first)
    if "e" in found:
        raise ScramError(f"server refused: {found['e']}")
    try:
        nonce, salt, iterations = found["r"], base64.b64decode(found["s"]), int(found["i"])
    except (KeyError, ValueError) as exc:
        raise ScramError(f"malformed server-first message: {server_first!r}") from exc
    if not nonce.startswith(client_nonce) or iterations < 4096:
        raise ScramError("server-first message: wrong nonce or too few iterations")
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    client_key = _hmac(salted, "Client Key")
    stored_key = hashlib.sha512(client_key).digest()
    without_proof = f"c={base64.b64encode(GS2_HEADER.encode()).decode()},r={nonce}"
    auth_message = f"{client_first_bare},{server_first},{without_proof}"
    proof = bytes(a ^ b for a, b in zip(client_key, _hmac(stored_key, auth_message)))
    server_final = exchange(f"{without_proof},p={base64.b64encode(proof).decode()}".encode()).decode()
    final = _attributes(server_final)
    if "e" in final:
        raise ScramError(f"server refused: {final['e']}")
    expected = _hmac(_hmac(salted, "Server Key"), auth_message)
    if not hmac.compare_digest(base64.b64decode(final.get("v", "")), expected):
        raise ScramError("the server's signature does not match: not the broker that knows our credentials")
