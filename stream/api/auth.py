"""Bearer tokens and roles: tokens are configured as SHA-256 hashes, never kept in clear.

`TREASURY_API_TOKENS` lists `role:sha256hex` entries, comma-separated; `treasury token ROLE`
makes a new token and prints the entry to add. A request without a known token gets 401; a
known token whose role may not do the thing gets 403.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final, Literal, get_args

from models.errors import ConfigError

Role = Literal["operator", "supervisor", "viewer"]
ROLES: Final = frozenset(get_args(Role))
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Tokens:
    """The configured token hashes and the role each grants."""

    by_hash: dict[str, Role]

    @classmethod
    def parse(cls, text: str) -> "Tokens":
        """`role:sha256hex,...`; a malformed entry is a ConfigError naming it (never the hash)."""
        by_hash: dict[str, Role] = {}
        for number, entry in enumerate((e.strip() for e in text.split(",")), start=1):
            if not entry:
                continue
            role, _, digest = entry.partition(":")
            role, digest = role.strip(), digest.strip().lower()
            if role not in ROLES:
                raise ConfigError(f"TREASURY_API_TOKENS entry {number}: role must be one of {sorted(ROLES)}")
            if len(digest) != 64 or not set(digest) <= _HEX:
                raise ConfigError(f"TREASURY_API_TOKENS entry {number}: expected role:<64 hex digits of SHA-256>")
            by_hash[digest] = role  # type: ignore[assignment]  # checked against ROLES above
        return cls(by_hash)

    def role_of(self, authorization: str | None) -> Role | None:
        """The role of an `Authorization: Bearer <token>` header, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = digest_of(token.strip())
        for known, role in self.by_hash.items():
            if hmac.compare_digest(known, presented):  # constant time per comparison
                return role
        return None


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(role: Role) -> tuple[str, str]:
    """A fresh random token and the `role:hash` entry that grants it."""
    token = secrets.token_urlsafe(32)
    return token, f"{role}:{digest_of(token)}"
