"""The tracing agent: fund chains from source document to end recipient, and the T-rules."""
