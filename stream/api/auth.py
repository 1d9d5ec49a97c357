"""Bearer tokens and roles: tokens are configured as SHA-256 hashes, never kept in clear.

`TREASURY_API_TOKENS` lists `role:sha256hex` or `role:sha256hex:name` entries, comma-separated;
`treasury token ROLE [--name NAME]` makes a new token and prints the entry to add. The name is
who the audit log and the alert history say acted (default: the role and the hash's first 8
digits). A request without a known token gets 401; a known token whose role may not do the thing
gets 403.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

from models.errors import ConfigError

Role = Literal["operator", "supervisor", "viewer"]
ROLES: Final = frozenset(get_args(Role))
_HEX = frozenset("0123456789abcdef")
NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the role their token grants and the name actions are recorded under."""

    role: Role
    name: str


@dataclass(frozen=True, slots=True)
class Tokens:
    """The configured token hashes and the role each grants."""

    by_hash: dict[str, Role]
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Tokens":
        """`role:sha256hex[:name],...`; a malformed entry is a ConfigError naming it (never the hash)."""
        by_hash: dict[str, Role] = {}
        names: dict[str, str] = {}
        for number, entry in enumerate((e.strip() for e in text.split(",")), start=1):
            if not entry:
                continue
            role, _, rest = entry.partition(":")
            digest, _, name = rest.partition(":")
            role, digest, name = role.strip(), digest.strip().lower(), name.strip()
            if role not in ROLES:
                raise ConfigError(f"TREASURY_API_TOKENS entry {number}: role must be one of {sorted(ROLES)}")
            if len(digest) != 64 or not set(digest) <= _HEX:
                raise ConfigError(f"TREASURY_API_TOKENS entry {number}: expected role:<64 hex digits of SHA-256>")
            if name and not NAME.fullmatch(name):
                raise ConfigError(f"TREASURY_API_TOKENS entry {number}: a name is 1-64 of A-Z a-z 0-9 . _ @ -")
            by_hash[digest] = role  # type: ignore[assignment]  # checked against ROLES above
            names[digest] = name or f"{role}-{digest[:8]}"
        return cls(by_hash, names)

    def role_of(self, authorization: str | None) -> Role | None:
        """The role of an `Authorization: Bearer <token>` header, or None."""
        caller = self.caller(authorization)
        return caller.role if caller is not None else None

    def caller(self, authorization: str | None) -> Caller | None:
        """Who an `Authorization: Bearer <token>` header names, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = digest_of(token.strip())
        for known, role in self.by_hash.items():
            if hmac.compare_digest(known, presented):  # constant time per comparison
                return Caller(role, self.names.get(known) or f"{role}-{known[:8]}")
        return None


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(role: Role, name: str | None = None) -> tuple[str, str]:
    """A fresh random token and the `role:hash[:name]` entry that grants it."""
    if name is not None and not NAME.fullmatch(name):
        raise ConfigError("a token's name is 1-64 of A-Z a-z 0-9 . _ @ -")
    token = secrets.token_urlsafe(32)
    return token, f"{role}:{digest_of(token)}" + (f":{name}" if name else "")
