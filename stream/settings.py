"""The one settings class of a treasury process; every environment variable is read here."""

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agents.config import RulesConfig, default_rules_text, parse_rules
from models.codec import DEFAULT_MAX_LINE_BYTES
from models.errors import ConfigError


class Settings(BaseSettings):
    """Environment variables, prefixed `TREASURY_` (see README, "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="TREASURY_", extra="ignore", frozen=True)

    # Rule thresholds file; the packaged agents/rules.toml when unset.
    rules_file: Path | None = None
    # Longest input line accepted; longer ones become dead letters unread.
    max_line_bytes: Annotated[int, Field(ge=1024, le=64 << 20)] = DEFAULT_MAX_LINE_BYTES
    # Lines per batch between the embedded runtime's stages.
    batch_lines: Annotated[int, Field(ge=1, le=100_000)] = 2000
    # Batches buffered between stages before the reader waits (back-pressure).
    queue_batches: Annotated[int, Field(ge=1, le=1000)] = 4

    def load_rules(self) -> RulesConfig:
        if self.rules_file is None:
            return parse_rules(default_rules_text())
        try:
            text = self.rules_file.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read rules file {self.rules_file}: {error.strerror}") from None
        return parse_rules(text)
