"""StoreError and the translation of asyncpg/socket errors into clear, password-free messages."""

from urllib.parse import urlsplit

from models.errors import TreasuryError

# SQLSTATE codes we explain in words; any other one is reported with its server message.
_EXPLAINED = {
    "42P01": "the treasury tables are missing: run `treasury migrate`",
    "3D000": "the database does not exist (create it, then run `treasury migrate`)",
    "28P01": "authentication failed (check the user and password in DATABASE_URL)",
    "28000": "the server refused this user (check DATABASE_URL and pg_hba.conf)",
    "53300": "the server has too many connections (lower TREASURY_DB_POOL_MAX or raise max_connections)",
    "57P03": "the server is starting up or shutting down",
}


class StoreError(TreasuryError):
    """The database cannot be reached, is not migrated, or refused a statement."""


def describe_dsn(dsn: str) -> str:
    """`host:port/database` of a DSN, never its password; a neutral phrase for keyword DSNs."""
    try:
        parts = urlsplit(dsn)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "the configured database"
    if parts.scheme not in ("postgres", "postgresql") or not host:
        return "the configured database"
    return f"{host}:{port or 5432}{parts.path or '/'}"


def translate(error: BaseException, doing: str, dsn: str) -> StoreError:
    """One StoreError naming what failed and where, for any error the driver or socket raised."""
    where = f"PostgreSQL at {describe_dsn(dsn)}"
    if isinstance(error, StoreError):
        return error
    if isinstance(error, TimeoutError):
        return StoreError(f"{where} did not answer in time while {doing} (see TREASURY_DB_*_TIMEOUT_S)")
    if isinstance(error, ConnectionRefusedError):
        return StoreError(f"cannot connect to {where}: connection refused (is the server running?)")
    if isinstance(error, OSError):
        reason = error.strerror or str(error) or type(error).__name__
        return StoreError(f"cannot connect to {where} while {doing}: {reason}")
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        text = _EXPLAINED.get(sqlstate) or f"error {sqlstate}: {getattr(error, 'message', '') or error}"
        return StoreError(f"{where} while {doing}: {text}")
    name = type(error).__name__
    return StoreError(f"{where} while {doing}: {name}: {error}")
