"""The validation agent: payment rules of DESIGN §4 over the budget ledger."""
