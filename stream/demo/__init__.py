"""A generated, realistic region for demos, tests and benchmarks."""
