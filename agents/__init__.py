"""What the agents decide, as pure logic over models and state mappings (no I/O, no clock)."""
