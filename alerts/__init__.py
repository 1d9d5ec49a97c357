"""Alert catalogue, lifecycle (open/ack/resolve) with deduplication, and sinks."""
