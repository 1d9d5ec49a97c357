"""The one root exception of the project and its direct children."""


class TreasuryError(Exception):
    """Root of every exception the engine raises on purpose."""


class InvalidInput(TreasuryError):
    """A line or message that does not satisfy the wire contract (becomes a dead letter)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class InvariantViolation(TreasuryError):
    """A money invariant would break: a programming error, never input to tolerate."""


class ConfigError(TreasuryError):
    """A configuration file or setting is invalid."""
