"""Department tokens signed by the issuer with Ed25519; services hold only the public keys.

A token is a JWS in compact form (RFC 7515, ``alg`` EdDSA of RFC 8037):
``base64url(header).base64url(claims).base64url(signature)``. The header names
the signing key (``kid``, the RFC 7638 thumbprint of its public key), so
services accept a set of public keys and the issuer's key can be rotated
without invalidating the tokens already given out. Claims: the department
(``dep``, ``kind``, ``ter`` territory, ``sec`` sectors), the ``user``, the
audience ``aud`` (the platform's; a token for another audience is refused),
``iat`` and ``exp`` (real time, never the simulated campaign clock).

Key files (docs/security.md, "Tokens and scope"):
- the issuer's private key: PEM (PKCS#8), held only by whoever issues tokens
  (the operator's ``campaign token``, the demo simulator);
- the public keys: a JWK Set (RFC 7517) of Ed25519 keys (``kty`` OKP), given to
  every service.
"""

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .auth import PERMISSIONS, Principal, Unauthenticated, territory_shape_problem

ALGORITHM = "EdDSA"
CLOCK_SKEW = timedelta(minutes=5)  # an ``iat`` this far ahead of the verifier's clock is still accepted
_PART = re.compile(r"^[A-Za-z0-9_-]+$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not _PART.match(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The public key as a JWK with its ``kid``."""
    x = _b64(_raw(public_key))
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key_id(x), "use": "sig"}


def key_id(x: str) -> str:
    """RFC 7638 thumbprint of an Ed25519 JWK (its required members, sorted, no whitespace)."""
    return _b64(hashlib.sha256(_json({"crv": "Ed25519", "kty": "OKP", "x": x})).digest())


def parse_key_set(text: str) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a JWK Set, by kid; ValueError naming what is wrong."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in json.loads(text)["keys"]:
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise ValueError(f"key {jwk.get('kid')!r} is not an Ed25519 key (kty OKP, crv Ed25519)")
        raw = _unb64(jwk["x"])
        if len(raw) != 32:
            raise ValueError(f"key {jwk.get('kid')!r}: x is not 32 bytes")
        if jwk.get("kid", key_id(jwk["x"])) != key_id(jwk["x"]):
            raise ValueError(f"key {jwk['kid']!r}: kid is not the key's RFC 7638 thumbprint")
        keys[key_id(jwk["x"])] = Ed25519PublicKey.from_public_bytes(raw)
    if not keys:
        raise ValueError("the key set holds no key")
    return keys


def key_set_with(text: str | None, public_key: Ed25519PublicKey) -> str:
    """The JWK Set ``text`` (None: an empty one) with ``public_key`` added; the keys already there stay, so
    tokens they signed stay valid until the key is retired."""
    keys = json.loads(text)["keys"] if text else []
    jwk = public_jwk(public_key)
    keys = [k for k in keys if k.get("kid") != jwk["kid"]] + [jwk]
    return json.dumps({"keys": keys}, indent=2) + "\n"


def key_set_without(text: str, kid: str) -> str:
    """The JWK Set without the key ``kid`` (retired: tokens it signed are refused from then on)."""
    keys = json.loads(text)["keys"]
    kept = [k for k in keys if k.get("kid") != kid]
    if len(kept) == len(keys):
        raise ValueError(f"no key {kid!r} in the set (kids: {', '.join(k.get('kid', '?') for k in keys)})")
    if not kept:
        raise ValueError("the last key cannot be retired: no token could be checked any more")
    return json.dumps({"keys": kept}, indent=2) + "\n"


def new_issuer_key() -> tuple[Ed25519PrivateKey, bytes]:
    """A fresh issuer key and its PEM (PKCS#8, unencrypted: protect the file, mode 600)."""
    key = Ed25519PrivateKey.generate()
    return key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())


@dataclass(frozen=True)
class TokenIssuer:
    """Signs department tokens: the operator's ``campaign token`` and the demo simulator, nobody else."""

    private_key: Ed25519PrivateKey
    audience: str

    @property
    def kid(self) -> str:
        return public_jwk(self.private_key.public_key())["kid"]

    @classmethod
    def from_pem(cls, pem: bytes, audience: str) -> "TokenIssuer":
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the token issuer key is not an Ed25519 private key")
        return cls(key, audience)

    def issue(self, principal: Principal, valid_for: timedelta = timedelta(days=180),
              now: datetime | None = None) -> str:
        if principal.kind not in PERMISSIONS:
            raise ValueError(f"unknown department kind {principal.kind!r}; one of {', '.join(PERMISSIONS)}")
        if problem := territory_shape_problem(principal.kind, principal.territory):
            raise ValueError(problem)
        now = now or datetime.now(timezone.utc)
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}
        claims = {"aud": self.audience, "dep": principal.department, "kind": principal.kind, "user": principal.user,
                  "ter": principal.territory, "sec": list(principal.sectors), "iat": int(now.timestamp()),
                  "exp": int((now + valid_for).timestamp())}
        signing_input = f"{_b64(_json(header))}.{_b64(_json(claims))}"
        return f"{signing_input}.{_b64(self.private_key.sign(signing_input.encode()))}"


@dataclass(frozen=True)
class TokenVerifier:
    """Checks tokens with the issuer's public keys (by kid) and the platform's audience."""

    keys: Mapping[str, Ed25519PublicKey]
    audience: str
    _signed: object = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A department sends the same token with every request: its signature is checked once per process
        # (a bounded cache of the verified claims); audience, expiry and kind are checked on every call.
        object.__setattr__(self, "_signed", lru_cache(maxsize=4096)(self._signed_claims))

    @classmethod
    def from_key_set(cls, text: str, audience: str) -> "TokenVerifier":
        return cls(parse_key_set(text), audience)

    def verify(self, token: str, now: datetime | None = None) -> Principal:
        """The principal a token names; Unauthenticated when it is forged, malformed, foreign or expired."""
        claims = self._signed(token)
        if claims.get("aud") != self.audience:
            raise Unauthenticated(f"the token is for audience {claims.get('aud')!r}, not this platform's "
                                  f"({self.audience!r})", field="Authorization")
        moment = (now or datetime.now(timezone.utc)).timestamp()
        if moment > claims["exp"]:
            raise Unauthenticated("the token has expired", field="Authorization")
        if claims["iat"] > moment + CLOCK_SKEW.total_seconds():
            raise Unauthenticated("the token was issued in the future", field="Authorization")
        try:
            principal = Principal(department=claims["dep"], kind=claims["kind"], user=claims["user"],
                                  territory=claims.get("ter"), sectors=tuple(claims.get("sec") or ()))
        except (KeyError, TypeError) as exc:
            raise Unauthenticated("the token's claims are malformed", field="Authorization") from exc
        if principal.kind not in PERMISSIONS:
            raise Unauthenticated(f"unknown department kind {principal.kind!r}", field="Authorization")
        if problem := territory_shape_problem(principal.kind, principal.territory):
            raise Unauthenticated(f"the token's scope is invalid: {problem}", field="Authorization")
        return principal

    def _signed_claims(self, token: str) -> dict:
        parts = token.split(".")
        if len(parts) != 3:
            raise Unauthenticated("the token is not an Ed25519-signed platform token (header.claims.signature); "
                                  "tokens of the former shared-secret scheme are no longer accepted",
                                  field="Authorization")
        try:
            header, signature = json.loads(_unb64(parts[0])), _unb64(parts[2])
            if not isinstance(header, dict):
                raise ValueError("header is not an object")
        except ValueError as exc:
            raise Unauthenticated("the token's header or signature is malformed", field="Authorization") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated(f"the token's algorithm must be {ALGORITHM}", field="Authorization")
        key = self.keys.get(header.get("kid")) if isinstance(header.get("kid"), str) else None
        if key is None:
            raise Unauthenticated("the token names an unknown signing key (kid); it was not issued for this "
                                  "platform or its key was retired", field="Authorization")
        try:
            key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
        except InvalidSignature:
            raise Unauthenticated("the token's signature is not valid", field="Authorization") from None
        try:
            claims = json.loads(_unb64(parts[1]))
            if not isinstance(claims, dict) or not isinstance(claims["exp"], int) or not isinstance(claims["iat"], int):
                raise ValueError("claims lack exp or iat")
        except (ValueError, KeyError) as exc:
            raise Unauthenticated("the token's claims are malformed", field="Authorization") from exc
        return claims


def _read(path: Path | None, variable: str, consequence: str) -> bytes:
    if path is None:
        raise RuntimeError(f"{variable} is not set: {consequence}")
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise RuntimeError(f"{variable} names {path}, which cannot be read ({exc.strerror}): {consequence}") from None


def load_issuer(path: Path | None, audience: str) -> TokenIssuer:
    """The issuer from its key file (CAMPAIGN_TOKEN_ISSUER_KEY_FILE)."""
    try:
        return TokenIssuer.from_pem(_read(path, "CAMPAIGN_TOKEN_ISSUER_KEY_FILE", "tokens cannot be issued"), audience)
    except ValueError as exc:
        raise RuntimeError(f"CAMPAIGN_TOKEN_ISSUER_KEY_FILE ({path}): {exc}") from None


def load_verifier(path: Path | None, audience: str) -> TokenVerifier:
    """The verifier from the public key set (CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE)."""
    text = _read(path, "CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE", "tokens cannot be checked").decode()
    try:
        return TokenVerifier.from_key_set(text, audience)
    except (ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(f"CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE ({path}) is not an Ed25519 JWK Set: {exc}") from None


def issuer_from_settings(settings=None) -> TokenIssuer:
    """The issuer the settings name (tests, the simulator and scripts use it like the operator's CLI)."""
    from .settings import get_settings

    settings = settings or get_settings()
    return load_issuer(settings.token_issuer_key_file, settings.token_audience)


def verifier_from_settings(settings=None) -> TokenVerifier:
    from .settings import get_settings

    settings = settings or get_settings()
    return load_verifier(settings.token_public_keys_file, settings.token_audience)
