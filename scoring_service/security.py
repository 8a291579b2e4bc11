"""API keys with scopes (score, feedback, admin), kept only as SHA-256 hashes in memory.

Keys are long random secrets, so a fast hash is enough; comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

SCOPES = ("score", "feedback", "admin")


@dataclass(frozen=True)
class ApiKey:
    name: str
    scopes: frozenset[str]
    digest: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_keys(entries: str) -> list[ApiKey]:
    """Parse "name:scope+scope:secret;..." (secret may be "sha256=<hex>"); refuse bad entries."""
    keys = []
    for i, raw in enumerate(e for e in entries.split(";") if e.strip()):
        parts = raw.strip().split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"api key entry {i}: expected name:scopes:secret")
        name, scopes, secret = parts
        wanted = frozenset(s for s in scopes.split("+") if s)
        unknown = sorted(wanted - set(SCOPES))
        if unknown or not wanted:
            raise ValueError(
                f"api key '{name}': unknown scope(s) {unknown}; use {', '.join(SCOPES)}"
            )
        if secret.startswith("sha256="):
            hexd = secret.removeprefix("sha256=").lower()
            if len(hexd) != 64:
                raise ValueError(f"api key '{name}': sha256= needs 64 hex characters")
        else:
            if len(secret) < 12:
                raise ValueError(f"api key '{name}': secrets must be at least 12 characters")
            hexd = digest(secret)
        keys.append(ApiKey(name, wanted, hexd))
    return keys


def find_key(keys: list[ApiKey], presented: str | None) -> ApiKey | None:
    if not presented:
        return None
    d = digest(presented)
    match = None
    for k in keys:
        if hmac.compare_digest(k.digest, d):
            match = k
    return match
