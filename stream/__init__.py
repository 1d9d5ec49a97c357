"""Stream adapters: embedded runtime, CLI, settings, sinks (and later Kafka, Postgres, HTTP)."""
