"""The one settings class of a treasury process; every environment variable is read here."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agents.config import RulesConfig, default_rules_text, parse_rules
from models.codec import DEFAULT_MAX_LINE_BYTES
from models.errors import ConfigError

if TYPE_CHECKING:
    from alerts.delivery import Delivery
    from stream.api.auth import Tokens


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

    # Kafka runtime. The broker list is the standard variable, without our prefix.
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "TREASURY_KAFKA_BOOTSTRAP_SERVERS"),
    )
    # Every topic's name starts with this (`treasury.payment`, `treasury.decision`, …).
    topic_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{0,100}$")] = "treasury."
    # Partitions of every topic (co-partitioned: same count everywhere); fixed once topics exist.
    kafka_partitions: Annotated[int, Field(ge=1, le=1024)] = 8
    kafka_replication: Annotated[int, Field(ge=1, le=5)] = 1
    # How long a worker waits for a missing partition sequence number (`treasury-pseq`) once every
    # input topic of the partition has been read to its end, before it gives up on it, logs a
    # warning, counts treasury_align_gaps_skipped_total and goes on (seconds).
    kafka_gap_timeout_s: Annotated[float, Field(ge=0, le=86_400)] = 30.0
    # Consumer group and table-name prefix of the workers.
    kafka_app_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,100}$")] = "treasury"
    # The worker's web server (health, metrics); None disables it.
    web_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    # Address the web server listens on: loopback unless a container needs it reachable.
    web_bind: str = "127.0.0.1"
    # Failpoint for the fault suite only (never set it in production): from its N-th state batch
    # on, the worker kills itself (exit 137, as a SIGKILL) in the first batch that reserved for a
    # payment, after the journal has the batch and only the accounts' changelog messages are
    # flushed, not the payment records' (a torn write: a reservation without its payment).
    failpoint_torn_batch: Annotated[int, Field(ge=1)] | None = None

    # API bearer tokens as `role:sha256hex` entries, comma-separated (`treasury token ROLE` makes
    # one); roles: operator, supervisor, viewer. Empty: every API request is refused with 401.
    api_tokens: str = ""

    # Operator actions (live embedded runtime): how long the API waits for the engine to apply one
    # before it answers 202 (the action still applies, in order).
    operator_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    # Server-sent alert stream: seconds between keep-alive comments; alert states a client may lag
    # behind before it is disconnected (it reconnects and re-reads the list).
    sse_keepalive_s: Annotated[float, Field(gt=0, le=300)] = 15.0
    sse_queue: Annotated[int, Field(ge=1, le=100_000)] = 256

    # Alert sinks, both optional. Webhook: each alert state POSTed as JSON, signed with
    # HMAC-SHA256 of the body under the secret (header X-Treasury-Signature). Alertmanager: its
    # base URL; states are pushed to /api/v2/alerts, firing ones again every resend interval.
    alert_webhook_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    alert_webhook_secret: SecretStr | None = None
    alertmanager_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    alertmanager_resend_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    # Per sink: request timeout, queue (overflow is dropped, counted and logged, never waited on),
    # attempts, and the back-off that doubles from alert_sink_backoff_s up to the cap.
    alert_sink_timeout_s: Annotated[float, Field(gt=0, le=120)] = 5.0
    alert_sink_queue: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    alert_sink_max_attempts: Annotated[int, Field(ge=1, le=100)] = 5
    alert_sink_backoff_s: Annotated[float, Field(ge=0, le=60)] = 0.5
    alert_sink_backoff_max_s: Annotated[float, Field(ge=0, le=3600)] = 30.0

    # PostgreSQL store. The URL is the standard variable, without our prefix; unset: no database.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    # Where local state lives: the bundled PostgreSQL of `replay --db` without DATABASE_URL is
    # `<data_dir>/pg`. None: ~/.local/share/treasury.
    data_dir: Path | None = None
    # asyncpg pool limits and timeouts (seconds) of the store.
    db_pool_min: Annotated[int, Field(ge=1, le=100)] = 1
    db_pool_max: Annotated[int, Field(ge=1, le=100)] = 4
    db_command_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    db_connect_timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    # Rows per INSERT statement of a batch write.
    db_batch_rows: Annotated[int, Field(ge=1, le=100_000)] = 5000
    # Batches the worker's persist consumer holds while PostgreSQL is slow or away; when full it
    # stops reading the output topics (back-pressure: Kafka keeps the rest).
    persist_queue_batches: Annotated[int, Field(ge=1, le=1000)] = 8
    # Longest wait between retries of a failed store write or connection (seconds; doubling from 0.2).
    db_retry_max_s: Annotated[float, Field(gt=0, le=600)] = 5.0

    def alert_sinks(self) -> list["Delivery"]:
        """The configured alert sinks (not started); a webhook URL without a secret is a ConfigError."""
        from alerts.alertmanager import AlertmanagerSink
        from alerts.delivery import DeliveryLimits
        from alerts.webhook import WebhookSink

        try:
            limits = DeliveryLimits(self.alert_sink_timeout_s, self.alert_sink_queue, self.alert_sink_max_attempts,
                                    self.alert_sink_backoff_s, self.alert_sink_backoff_max_s)
        except ValueError as error:
            raise ConfigError(f"alert sink settings: {error}") from None
        sinks: list[Delivery] = []
        if self.alert_webhook_url:
            secret = self.alert_webhook_secret.get_secret_value().encode() if self.alert_webhook_secret else b""
            if not secret:
                raise ConfigError("TREASURY_ALERT_WEBHOOK_URL is set: TREASURY_ALERT_WEBHOOK_SECRET must be too")
            sinks.append(WebhookSink(self.alert_webhook_url, secret, limits))
        if self.alertmanager_url:
            sinks.append(AlertmanagerSink(self.alertmanager_url, limits, self.alertmanager_resend_s))
        return sinks

    def load_tokens(self) -> "Tokens":
        from stream.api.auth import Tokens

        return Tokens.parse(self.api_tokens)

    def load_rules(self) -> RulesConfig:
        if self.rules_file is None:
            return parse_rules(default_rules_text())
        try:
            text = self.rules_file.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read rules file {self.rules_file}: {error.strerror}") from None
        return parse_rules(text)
