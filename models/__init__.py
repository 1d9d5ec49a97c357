"""Wire contract of the treasury engine: events in, outputs out, money as integer fen."""
